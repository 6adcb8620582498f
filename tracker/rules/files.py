"""Finding and reading rule files: every file checked, one broken file never hides another."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from tracker.errors import Problem, RuleError
from tracker.models import Rule
from tracker.rules.lines import line_index
from tracker.rules.parse import parse_rule

OVERRIDE = ".override.toml"  # laid over the rule file of the same name (imported calls)


def _tomls(folder: Path) -> Iterator[Path]:
    return (f for f in folder.rglob("*.toml") if f.is_file())


SNAPSHOT = "-snapshot"  # a shipped copy of a portal, given up once it is imported live


def rule_files(paths: Sequence[Path]) -> list[Path]:
    """Every *.toml rule file under the given files or folders, in a stable order (override
    files are read with the rule they override). A folder `<source>-snapshot` is left out when
    a folder `<source>` of rule files (a live import of that portal) is read too."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in _tomls(p) if not f.name.endswith(OVERRIDE)))
        else:
            out.append(p)
    live = {f.parent.name for f in out if not f.parent.name.endswith(SNAPSHOT)}
    return [f for f in out if not (f.parent.name.endswith(SNAPSHOT)
                                   and f.parent.name.removesuffix(SNAPSHOT) in live)]


def override_of(path: Path) -> Path:
    """Where the override file of a rule file would be: x.toml -> x.override.toml."""
    return path.with_name(path.name.removesuffix(".toml") + OVERRIDE)


def fingerprint(paths: Sequence[Path]) -> str:
    """A hash of every rule file's name and content: tells whether the store is up to date."""
    h = hashlib.sha256()
    for f in rule_files(paths):
        for part in (f, override_of(f)):
            try:
                data = part.read_bytes()
            except FileNotFoundError:
                continue
            except OSError:
                data = b"<unreadable>"
            h.update(str(part.resolve()).encode() + b"\0" + data + b"\0")
    return h.hexdigest()


def stat_fingerprint(paths: Sequence[Path]) -> str:
    """A hash of every rule file's name, size and modification time: no file is read, so it
    is cheap for thousands of files."""
    h = hashlib.sha256()
    for f in rule_files(paths):
        for part in (f, override_of(f)):
            try:
                st = part.stat()
            except OSError:
                continue
            h.update(f"{part.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return h.hexdigest()


def read_rule(f: Path) -> tuple[Rule | None, list[Problem], str]:
    """One rule file (with its override file, if any): the rule, its problems, its text."""
    name = str(f)
    try:
        text = f.read_text(encoding="utf-8")
        over = override_of(f)
        override = (over.read_text(encoding="utf-8"), str(over)) if over.is_file() else None
    except FileNotFoundError:
        return None, [Problem(name, None, "", "no such file", "check the path")], ""
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(name, None, "", f"cannot read: {exc}", "save it as UTF-8")], ""
    rule, found = parse_rule(text, name, override)
    return rule, found, text


def check_files(paths: Sequence[Path]) -> tuple[list[Rule], list[Problem]]:
    """Parse every rule file; a broken file never stops the others from being checked."""
    rules: list[Rule] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for p in paths:  # an empty folder would withdraw every call: almost always a wrong path
        if p.is_dir() and not any(True for _ in _tomls(p)):
            problems.append(Problem(str(p), None, "", "no rule files (*.toml) in this folder",
                                    "check the path (--seeds, TRACKER_SEEDS) or add a rule file"))
    for f in rule_files(paths):
        name = str(f)
        rule, found, text = read_rule(f)
        problems.extend(found)
        if rule is None:
            continue
        if rule.id in seen:
            problems.append(Problem(name, line_index(text).get("id"), "id",
                                    f"id '{rule.id}' is also used by {seen[rule.id]}",
                                    "every rule file needs its own id"))
            continue
        seen[rule.id] = name
        rules.append(rule)
    return rules, problems


def load_rules(paths: Sequence[Path]) -> list[Rule]:
    """All rules under `paths`, or RuleError with every problem of every file (warnings do
    not stop a rule from loading)."""
    rules, problems = check_files(paths)
    if any(not p.warning for p in problems):
        raise RuleError([p for p in problems if not p.warning])
    return rules
