"""Every setting in one place: name, type, default, help; read from file, environment, options."""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

from tracker.errors import ConfigError

APP = "tracker"
ENV_PREFIX = "TRACKER_"
PROJECT_CONFIG = "tracker.toml"


def package_data(name: str) -> Path:
    """A bundled folder: inside the installed package, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "_data" / name
    return installed if installed.is_dir() else here.parent / name


def _default_zone() -> str:
    name = os.environ.get("TZ", "").lstrip(":")
    try:
        if name:
            ZoneInfo(name)
            return name
    except (ZoneInfoNotFoundError, ValueError):
        pass
    return "UTC"


def _default_db() -> str:
    return f"sqlite:///{Path(platformdirs.user_data_dir(APP)) / 'tracker.db'}"


def _paths(value: Any, base: Path | None) -> list[Path]:
    items = value.split(os.pathsep) if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str | Path) for i in items):
        raise ValueError("expected a folder or a list of folders")
    out = []
    for item in items:
        p = Path(item).expanduser()
        out.append(p if p.is_absolute() or base is None else base / p)
    return out


def _zone(value: Any, base: Path | None) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{value}' (use an IANA name such as "
                         "Europe/Brussels)") from None
    return str(value)


def _text(value: Any, base: Path | None) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _path(value: Any, base: Path | None) -> Path:
    p = Path(_text(value, base)).expanduser()
    return p if p.is_absolute() or base is None else base / p


def _base_url(value: Any, base: Path | None) -> str:
    url = _text(value, base).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL, e.g. https://grants.example.org")
    return url


def _smtp_url(value: Any, base: Path | None) -> str:
    url = _text(value, base).strip()
    if url and not url.startswith(("smtp://", "smtps://")):
        raise ValueError("expected smtp://user:pass@host:587?starttls=true, smtps://host:465 "
                         "or smtp://127.0.0.1:2525")
    return url


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


@dataclass(frozen=True)
class Setting:
    """One configurable value."""

    name: str
    parse: Callable[[Any, Path | None], Any]
    default: Callable[[], Any]
    help: str
    secret: bool = False

    @property
    def env(self) -> str:
        """The environment variable that sets it."""
        return ENV_PREFIX + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("seeds", _paths, lambda: [package_data("seeds")],
            "Folders (or files) of call rules; several are separated by ':' in the environment."),
    Setting("timezone", _zone, _default_zone,
            "Your time zone, used to show deadlines beside the call's own zone."),
    Setting("database_url", _db_url, _default_db,
            "SQLAlchemy URL of the store (SQLite file by default, or PostgreSQL).", secret=True),
    Setting("calendars", _path, lambda: Path("calendars"),
            "Folder where 'tracker feeds build' writes the .ics feeds and index.json."),
    Setting("base_url", _base_url, lambda: "http://127.0.0.1:8080",
            "Public base URL of the server, used in links and subscribe buttons."),
    Setting("smtp_url", _smtp_url, lambda: "",
            "SMTP server, e.g. smtp://user:pass@host:587?starttls=true or smtps://host:465; "
            "empty: mail goes to the local maildir.", secret=True),
    Setting("mail_from", _text, lambda: "Grant tracker <tracker@localhost>",
            "Sender of digests and alerts."),
    Setting("maildir", _path, lambda: Path(platformdirs.user_data_dir(APP)) / "mail",
            "Where mail goes when no SMTP server is configured (a Maildir)."),
)
BY_NAME = {s.name: s for s in SETTINGS}


@dataclass
class Settings:
    """Effective values, and where each came from."""

    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    config_file: Path | None = None

    @property
    def seeds(self) -> list[Path]:
        """Rule folders."""
        return list(self.values["seeds"])

    @property
    def timezone(self) -> str:
        """The reader's zone."""
        return str(self.values["timezone"])

    @property
    def calendars(self) -> Path:
        """Where feeds are written."""
        return Path(self.values["calendars"])

    @property
    def base_url(self) -> str:
        """Public base URL, no trailing slash."""
        return str(self.values["base_url"])

    @property
    def smtp_url(self) -> str:
        """SMTP URL ('' for the maildir)."""
        return str(self.values["smtp_url"])

    @property
    def mail_from(self) -> str:
        """Sender address."""
        return str(self.values["mail_from"])

    @property
    def maildir(self) -> Path:
        """Fallback maildir."""
        return Path(self.values["maildir"])

    @property
    def database_url(self) -> str:
        """The store's URL."""
        return str(self.values["database_url"])

    def shown(self, name: str) -> str:
        """The value as `tracker config` prints it, secrets masked."""
        value = self.values[name]
        if isinstance(value, list):
            return os.pathsep.join(str(v) for v in value)
        text = str(value)
        return mask(text) if BY_NAME[name].secret else text


def mask(text: str) -> str:
    """Hide the password of a URL."""
    parts = urlsplit(text)
    if parts.password:
        host = parts.hostname or ""
        netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return text


def find_config(explicit: Path | None, env: Mapping[str, str], cwd: Path) -> Path | None:
    """--config, then TRACKER_CONFIG, then ./tracker.toml, then the user's config dir."""
    if explicit is not None:
        return explicit
    if env.get(ENV_PREFIX + "CONFIG"):
        return Path(env[ENV_PREFIX + "CONFIG"]).expanduser()
    if (cwd / PROJECT_CONFIG).is_file():
        return cwd / PROJECT_CONFIG
    user = Path(platformdirs.user_config_dir(APP)) / "config.toml"
    return user if user.is_file() else None


def _apply(settings: Settings, name: str, raw: Any, origin: str, base: Path | None) -> None:
    try:
        settings.values[name] = BY_NAME[name].parse(raw, base)
    except ValueError as exc:
        raise ConfigError(f"{origin}: {name}: {exc}") from None
    settings.origins[name] = origin


def load_settings(config: Path | None = None, env: Mapping[str, str] | None = None,
                  overrides: Mapping[str, Any] | None = None, cwd: Path | None = None) -> Settings:
    """Defaults < config file < TRACKER_* environment < command-line options."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    settings = Settings()
    for s in SETTINGS:
        settings.values[s.name] = s.default()
        settings.origins[s.name] = "default"
    path = find_config(config, env, cwd)
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        settings.config_file = path
        for key, raw in data.items():
            if key not in BY_NAME:
                near = difflib.get_close_matches(key, list(BY_NAME), n=1)
                hint = f" (did you mean '{near[0]}'?)" if near else \
                    f" (settings: {', '.join(BY_NAME)})"
                raise ConfigError(f"{path}: unknown setting '{key}'{hint}")
            _apply(settings, key, raw, str(path), path.parent.resolve())
    for s in SETTINGS:
        if env.get(s.env):
            _apply(settings, s.name, env[s.env], s.env, cwd)
    for name, raw in (overrides or {}).items():
        if raw is not None:
            _apply(settings, name, raw, "option", cwd)
    return settings
