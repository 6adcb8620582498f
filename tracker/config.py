"""Every setting in one place: name, type, default, help; read from file, environment, options.

Where the rules come from: a project folder (the nearest folder, from the current one upwards,
holding a `tracker.toml` or a `seeds/` folder of rule files, as git finds its repository), else
the bundled seeds. A project gets its own database unless its config names one.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

from tracker.errors import ConfigError, TrackerError
from tracker.resources import package_data
from tracker.urls import mask

APP = "tracker"
ENV_PREFIX = "TRACKER_"
PROJECT_CONFIG = "tracker.toml"


def _default_zone() -> str:
    name = os.environ.get("TZ", "").lstrip(":")
    try:
        if name and len(name) <= 64:
            ZoneInfo(name)
            return name
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    return "UTC"


def data_dir() -> Path:
    """The user's data folder for the tracker (databases, mail)."""
    return Path(platformdirs.user_data_dir(APP))


def find_project(cwd: Path) -> Path | None:
    """The nearest folder, from `cwd` upwards, with a tracker.toml or a seeds/ of rule files."""
    for folder in (cwd, *cwd.parents):
        if (folder / PROJECT_CONFIG).is_file():
            return folder
        seeds = folder / "seeds"
        if seeds.is_dir() and any(True for _ in seeds.rglob("*.toml")):
            return folder
    return None


def _paths(value: Any, base: Path | None) -> tuple[Path, ...]:
    items = value.split(os.pathsep) if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str | Path) for i in items):
        raise ValueError("expected a folder or a list of folders")
    out = []
    for item in items:
        p = Path(item).expanduser()
        out.append(p if p.is_absolute() or base is None else base / p)
    return tuple(out)


def _zone(value: Any, _base: Path | None) -> str:
    try:
        if len(str(value)) > 64:
            raise ValueError(value)
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone '{str(value)[:64]}' (use an IANA name such as "
                         "Europe/Brussels)") from None
    return str(value)


def _text(value: Any, _base: Path | None) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _path(value: Any, base: Path | None) -> Path:
    p = Path(_text(value, base)).expanduser()
    return p if p.is_absolute() or base is None else base / p


def _base_url(value: Any, base: Path | None) -> str:
    url = _text(value, base).strip().rstrip("/")
    if url and not re.match(r"^https?://[^/\s]+", url):
        raise ValueError("expected an http:// or https:// URL, e.g. https://grants.example.org")
    return url


def _smtp_url(value: Any, base: Path | None) -> str:
    url = _text(value, base).strip()
    if url:
        try:
            from tracker.mail.smtpurl import parse_smtp_url  # ssl: only when mail is set

            parse_smtp_url(url)
        except ConfigError as exc:
            raise ValueError(str(exc).removeprefix("smtp_url: ")) from None
    return url


def _mail_from(value: Any, base: Path | None) -> str:
    text = _text(value, base)
    if not re.search(r"[^@\s<]+@[^@\s>]+", text) or "\n" in text or "\r" in text:
        raise ValueError("expected an address such as 'Grant tracker <tracker@example.org>'")
    return text


def _db_url(value: Any, base: Path | None) -> str:
    url = _text(value, base)
    if "://" not in url:
        raise ValueError("expected a URL such as sqlite:///path/tracker.db or "
                         "postgresql+psycopg://user@host/db")
    prefix = "sqlite:///"
    if url.startswith(prefix) and base is not None and not url.startswith(prefix + "/"):
        rel = url[len(prefix):]
        if rel and rel != ":memory:":
            url = prefix + str(base / rel)
    return url


def _imports(value: Any, _base: Path | None) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ValueError("expected tables such as [imports.ncp-digital] with source = "
                         "\"ftportal\"")
    return value


@dataclass(frozen=True)
class Setting:
    """One configurable value."""

    name: str
    parse: Callable[[Any, Path | None], Any]
    help: str
    secret: bool = False

    @property
    def env(self) -> str:
        """The environment variable that sets it."""
        return ENV_PREFIX + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("seeds", _paths, "Folders (or files) of call rules; several are separated by ':' "
            "in the environment. Default: the project's seeds/ (and imported/), else the "
            "bundled ones."),
    Setting("timezone", _zone, "Your time zone, used to show deadlines beside the call's own."),
    Setting("database_url", _db_url, "SQLAlchemy URL of the store (SQLite file by default, or "
            "PostgreSQL).", secret=True),
    Setting("calendars", _path, "Folder where 'tracker feeds build' writes the .ics feeds."),
    Setting("base_url", _base_url, "Public base URL of the server, used in links and subscribe "
            "buttons; empty: the address a page was requested on."),
    Setting("smtp_url", _smtp_url, "SMTP server, e.g. smtp://user:pass@host:587?starttls=true "
            "or smtps://host:465; empty: mail goes to the local maildir.", secret=True),
    Setting("mail_from", _mail_from, "Sender of digests and alerts."),
    Setting("maildir", _path, "Where mail goes when no SMTP server is configured (a Maildir)."),
    Setting("imported", _path, "Folder where 'tracker import' writes imported calls (one "
            "subfolder per portal); read as seeds once it exists."),
    Setting("imports", _imports, "Named import sources ([imports.NAME] tables in the config "
            "file), run daily by 'tracker run'."),
)
BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Effective values (typed), where each came from, and the project they belong to."""

    seeds: tuple[Path, ...]
    timezone: str
    database_url: str
    calendars: Path
    base_url: str
    smtp_url: str
    mail_from: str
    maildir: Path
    imported: Path
    imports: dict[str, Any]
    origins: dict[str, str] = field(default_factory=dict)
    config_file: Path | None = None
    project: Path | None = None

    def shown(self, name: str) -> str:
        """The value as `tracker config` prints it, secrets masked."""
        value = getattr(self, name)
        if isinstance(value, tuple):
            return os.pathsep.join(str(v) for v in value)
        if isinstance(value, dict):
            return ", ".join(sorted(value)) or "none"
        text = str(value) if value != "" else "(not set)"
        return mask(text) if BY_NAME[name].secret else text


def _defaults(project: Path | None, cwd: Path) -> tuple[dict[str, Any], dict[str, str]]:
    root = project or cwd
    imported = root / "imported"
    seeds: tuple[Path, ...]
    if project is not None and (project / "seeds").is_dir():
        seeds = (project / "seeds",)
        seeds_from = f"the project's seeds/ folder (project {project})"
    else:
        seeds = (package_data("seeds"),)
        seeds_from = "the bundled seeds (no seeds/ folder here or above)"
    if imported.is_dir():
        seeds += (imported,)
        seeds_from += ", and imported/"
    if project is not None:
        digest = hashlib.sha256(str(project.resolve()).encode()).hexdigest()[:8]
        db = data_dir() / "projects" / f"{project.name or 'root'}-{digest}.db"
    else:
        db = data_dir() / "tracker.db"
    values: dict[str, Any] = {"seeds": seeds, "timezone": _default_zone(), "database_url": f"sqlite:///{db}",
              "calendars": root / "calendars", "base_url": "", "smtp_url": "",
              "mail_from": "Grant tracker <tracker@localhost>", "maildir": data_dir() / "mail",
              "imported": imported, "imports": {}}
    origins = dict.fromkeys(values, "default")
    origins["seeds"] = f"default: {seeds_from}"
    return values, origins


def find_config(explicit: Path | None, env: Mapping[str, str], project: Path | None) \
        -> Path | None:
    """--config, then TRACKER_CONFIG, then the project's tracker.toml, then the user's."""
    if explicit is not None:
        return explicit
    if env.get(ENV_PREFIX + "CONFIG"):
        return Path(env[ENV_PREFIX + "CONFIG"]).expanduser()
    if project is not None and (project / PROJECT_CONFIG).is_file():
        return project / PROJECT_CONFIG
    user = Path(platformdirs.user_config_dir(APP)) / "config.toml"
    return user if user.is_file() else None


def load_settings(config: Path | None = None, env: Mapping[str, str] | None = None,
                  overrides: Mapping[str, Any] | None = None, cwd: Path | None = None) -> Settings:
    """Defaults < config file < TRACKER_* environment < command-line options; every problem is
    collected and reported at once (ConfigError, one line each)."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    project = find_project(cwd)
    values, origins = _defaults(project, cwd)
    problems: list[str] = []

    def put(name: str, raw: Any, origin: str, base: Path | None) -> None:
        try:
            values[name] = BY_NAME[name].parse(raw, base)
            origins[name] = origin
        except (ValueError, TrackerError) as exc:
            problems.append(f"{origin}: {name}: {exc}")

    path = find_config(config, env, project)
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path} cannot be read: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        for key, raw in data.items():
            if key not in BY_NAME:
                near = difflib.get_close_matches(key, list(BY_NAME), n=1)
                hint = f" (did you mean '{near[0]}'?)" if near else \
                    f" (settings: {', '.join(BY_NAME)})"
                problems.append(f"{path}: unknown setting '{key}'{hint}")
                continue
            put(key, raw, str(path), path.parent.resolve())
    for s in SETTINGS:
        if env.get(s.env) and s.name != "imports":
            put(s.name, env[s.env], s.env, cwd)
    for name, raw in (overrides or {}).items():
        if raw is not None:
            put(name, raw, "option", cwd)
    if values["imports"]:
        from tracker.importers.sources import parse_sources

        try:
            parse_sources(values["imports"])
        except ConfigError as exc:
            problems.extend(f"{origins['imports']}: {line}" for line in str(exc).splitlines())
    if problems:
        raise ConfigError("\n".join(problems) if len(problems) == 1 else
                          f"{len(problems)} problems in the settings:\n  " + "\n  ".join(problems))
    return Settings(**values, origins=origins, config_file=path, project=project)
