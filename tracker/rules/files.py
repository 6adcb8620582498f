"""Finding and reading rule files: every file checked, one broken file never hides another."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from tracker.errors import Problem, RuleError
from tracker.models import Rule
from tracker.rules.lines import line_index
from tracker.rules.parse import parse_rule

OVERRIDE = ".override.toml"  # laid over the rule file of the same name (imported calls)


def _tomls(folder: Path) -> Iterator[Path]:
    return (f for f in folder.rglob("*.toml") if f.is_file())


SNAPSHOT = "-snapshot"  # a shipped copy of a portal, given up once it is imported live


class Listed(NamedTuple):
    """A rule file as a directory listing gives it: its path, and a stamp of its size and
    modification time (and its override file's) that changes when either is written. (A
    named tuple: twenty thousand of them are made on every sync.)"""

    path: str
    stamp: str
    mtime: float  # the newer of the file's and its override's, as a POSIX timestamp
    folder: str  # the name of the folder it is in


def _stamp(st: os.stat_result) -> str:
    return f"{st.st_size}:{st.st_mtime_ns}"


def _walk(folder: str, out: list[Listed]) -> None:
    """Rule files under `folder`, in the order of their path's parts, with one stat each
    (os.scandir knows which entries are folders, and which override files exist)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    names = {e.name for e in entries}
    here = os.path.basename(folder)
    for e in entries:
        name = e.name
        if e.is_dir():
            _walk(e.path, out)
        elif name.endswith(".toml") and not name.endswith(OVERRIDE) and e.is_file():
            over = name[:-5] + OVERRIDE
            found = _listed(e.path, e.stat, os.path.join(folder, over) if over in names
                            else None, here)
            if found is not None:
                out.append(found)


def _listed(path: str, stat: Callable[[], os.stat_result], over: str | None,
            folder: str) -> Listed | None:
    """A rule file's listing entry: its stamp (and its override file's, when `over` names
    one); None when it cannot be stat'ed."""
    try:
        st = stat()
    except OSError:
        return None
    if over is not None:
        try:
            ost = os.stat(over)
        except OSError:
            pass
        else:
            return Listed(path, f"{_stamp(st)}+{_stamp(ost)}", max(st.st_mtime, ost.st_mtime),
                          folder)
    return Listed(path, _stamp(st), st.st_mtime, folder)


def _stat_one(f: Path) -> Listed:
    over = override_of(f)
    found = _listed(str(f), f.stat, str(over) if over.is_file() else None, f.parent.name)
    return found or Listed(str(f), "", 0.0, f.parent.name)


def list_rule_files(paths: Sequence[Path]) -> list[Listed]:
    """Every *.toml rule file under the given files or folders, with its stamp, in a stable
    order (override files are read with the rule they override). A folder `<source>-snapshot`
    is left out when a folder `<source>` of rule files (a live import of that portal) is read
    too."""
    out: list[Listed] = []
    for p in paths:
        if p.is_dir():
            _walk(str(p), out)
        else:
            out.append(_stat_one(p))
    snapshots = {f.folder for f in out if f.folder.endswith(SNAPSHOT)}
    if not snapshots:
        return out
    live = {f.folder for f in out} - snapshots
    return [f for f in out if not (f.folder in snapshots
                                   and f.folder.removesuffix(SNAPSHOT) in live)]


def rule_files(paths: Sequence[Path]) -> list[Path]:
    """The paths of `list_rule_files`."""
    return [Path(f.path) for f in list_rule_files(paths)]


def snapshot_folders(paths: Sequence[Path]) -> dict[str, list[Path]]:
    """The `<source>-snapshot` folders read (those no live import replaces), with their rule
    files; found from folder listings alone (no file is opened or stat'ed)."""
    found: dict[str, list[Path]] = {}
    live: set[str] = set()
    for p in paths:
        for folder, _dirs, names in os.walk(p) if p.is_dir() else [(str(p.parent), [], [p.name])]:
            tomls = sorted(n for n in names if n.endswith(".toml") and not n.endswith(OVERRIDE))
            name = os.path.basename(folder)
            if tomls and name.endswith(SNAPSHOT):
                found.setdefault(name, []).extend(Path(folder, n) for n in tomls)
            elif tomls:
                live.add(name)
    return {k: v for k, v in sorted(found.items()) if k.removesuffix(SNAPSHOT) not in live}


def override_of(path: Path) -> Path:
    """Where the override file of a rule file would be: x.toml -> x.override.toml."""
    return path.with_name(path.name.removesuffix(".toml") + OVERRIDE)


def _hash(text: bytes, override: bytes | None) -> str:
    return hashlib.sha256(text + b"\0" + (b"\0none" if override is None else override)
                          + b"\0").hexdigest()


def digest(f: Path) -> str:
    """A hash of a rule file's text and its override file's ('' when it cannot be read)."""
    try:
        over = override_of(f)
        return _hash(f.read_bytes(), over.read_bytes() if over.is_file() else None)
    except OSError:
        return ""


def combined(digests: Iterable[tuple[str, str]]) -> str:
    """One hash for many files' (path, digest)."""
    h = hashlib.sha256()
    for path, d in sorted(digests):
        h.update(f"{path}\0{d}\0".encode())
    return h.hexdigest()


@dataclass(frozen=True)
class Read:
    """One rule file read and parsed: the rule (None when broken), its problems, its text and
    the digest of its bytes (with its override file's)."""

    rule: Rule | None
    problems: list[Problem]
    text: str
    digest: str


def read_rule(f: Path) -> Read:
    """One rule file (with its override file, if any), read and parsed."""
    name = str(f)
    try:
        raw = f.read_bytes()
        over = override_of(f)
        raw_over = over.read_bytes() if over.is_file() else None
        text = raw.decode("utf-8")
        override = None if raw_over is None else (raw_over.decode("utf-8"), str(over))
    except FileNotFoundError:
        return Read(None, [Problem(name, None, "", "no such file", "check the path")], "", "")
    except (OSError, UnicodeDecodeError) as exc:
        return Read(None, [Problem(name, None, "", f"cannot read: {exc}", "save it as UTF-8")],
                    "", "")
    rule, found = parse_rule(text, name, override)
    return Read(rule, found, text, _hash(raw, raw_over))


def empty_folders(paths: Sequence[Path]) -> list[Problem]:
    """An empty folder would withdraw every call: almost always a wrong path."""
    return [Problem(str(p), None, "", "no rule files (*.toml) in this folder",
                    "check the path (--seeds, TRACKER_SEEDS) or add a rule file")
            for p in paths if p.is_dir() and not any(True for _ in _tomls(p))]


def check_read(files: Sequence[Path], taken: Mapping[str, str] | None = None) \
        -> tuple[list[Read], list[Problem]]:
    """Read and parse `files`; a broken file never stops the others from being checked. An id
    used twice is a problem, also when `taken` (id -> file) has it from a file not read now."""
    reads: list[Read] = []
    problems: list[Problem] = []
    seen: dict[str, str] = dict(taken or {})
    for f in files:
        got = read_rule(f)
        problems.extend(got.problems)
        if got.rule is None:
            continue
        if got.rule.id in seen:
            problems.append(Problem(str(f), line_index(got.text).get("id"), "id",
                                    f"id '{got.rule.id}' is also used by {seen[got.rule.id]}",
                                    "every rule file needs its own id"))
            continue
        seen[got.rule.id] = str(f)
        reads.append(got)
    return reads, problems


def check_files(paths: Sequence[Path]) -> tuple[list[Rule], list[Problem]]:
    """Parse every rule file; a broken file never stops the others from being checked."""
    reads, problems = check_read(rule_files(paths))
    return [r.rule for r in reads if r.rule is not None], empty_folders(paths) + problems


def load_rules(paths: Sequence[Path]) -> list[Rule]:
    """All rules under `paths`, or RuleError with every problem of every file (warnings do
    not stop a rule from loading)."""
    rules, problems = check_files(paths)
    if any(not p.warning for p in problems):
        raise RuleError([p for p in problems if not p.warning])
    return rules
