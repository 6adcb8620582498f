"""Write imported calls into their folder: one rule file per call, only when bytes change.

Crash safety: every new file is first staged next to its target (`.<name>.new`, not read as a
rule) and synced; then a journal listing the renames is written atomically, the renames run,
and the journal is removed. A kill before the journal leaves the previous files untouched (the
staged files are swept on the next run); a kill during the renames is completed by the next
import (`recover`).
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from tracker.errors import TrackerError
from tracker.importers.document import (
    NOT_OVERRIDABLE,
    PORTAL,
    SOURCE_NAMES,
    apply_overrides,
    history_of,
    merge_history,
    render,
    to_document,
)
from tracker.importers.model import ImportedCall

MANIFEST = ".imported.json"
JOURNAL = ".import-journal.json"


@dataclass
class WriteReport:
    """What an import changed in its folder."""

    folder: Path
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)  # "<id> stage-1: 2027-04-08 -> 2027-04-15"
    unchanged: int = 0

    @property
    def touched(self) -> bool:
        """True when at least one file was written."""
        return bool(self.created or self.updated or self.withdrawn)


def _sync(path: Path, text: str, durable: bool = False) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())


def _manifest_text(manifest: dict[str, list[str]]) -> str:
    return json.dumps(manifest, indent=1, sort_keys=True) + "\n"


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def recover(folder: Path) -> None:
    """Finish the renames of an import killed half way; drop staged files of an unfinished one."""
    journal = folder / JOURNAL
    if journal.exists():
        for staged, final in json.loads(journal.read_text(encoding="utf-8")):
            if (folder / staged).exists():
                os.replace(folder / staged, folder / final)
        journal.unlink()
    for stray in folder.glob(".*.new"):
        stray.unlink()


def _read_toml(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        if path.suffix == ".override":
            raise TrackerError(f"{path}: cannot read the override file: {exc}. Fix its TOML; "
                               "nothing was imported.") from None
        return None  # a broken imported file is rewritten from the portal's data


def _with_retrieved(doc: dict[str, Any], when: Any) -> dict[str, Any]:
    sources = {**doc["sources"], PORTAL: {**doc["sources"][PORTAL], "retrieved": when}}
    return {**doc, "sources": sources}


class _Plan:
    """The files of one import, staged as they are rendered, renamed together at the end."""

    def __init__(self, folder: Path, source: str) -> None:
        self.folder, self.source = folder, source
        self.names: list[str] = []  # staged as .<name>.new as they are rendered
        self.report = WriteReport(folder)

    def overrides(self, rule_id: str) -> tuple[dict[str, Any], list[str]]:
        data = _read_toml(self.folder / f"{rule_id}.override") or {}
        return data, [k for k in data if k not in NOT_OVERRIDABLE]

    def add(self, call: ImportedCall) -> None:
        path = self.folder / f"{call.rule_id}.toml"
        old_text = path.read_text(encoding="utf-8") if path.exists() else None
        old = _read_toml(path)
        what = SOURCE_NAMES.get(call.source, call.source)
        doc, changes = merge_history(to_document(call), old, call.retrieved.date(), what)
        extra, overridden = self.overrides(call.rule_id)
        doc = apply_overrides(doc, extra)
        if old is not None and old_text is not None and PORTAL in old.get("sources", {}):
            before = old["sources"][PORTAL].get("retrieved")  # unchanged facts keep their time
            if render(_with_retrieved(doc, before), self.source, overridden) == old_text:
                self.report.unchanged += 1
                return
        self.stage(path.name, render(doc, self.source, overridden))
        (self.report.updated if old_text is not None else self.report.created).append(call.rule_id)
        self.report.changes.extend(f"{call.rule_id} {c}" for c in changes)

    def withdraw(self, rule_id: str, today: date) -> None:
        path = self.folder / f"{rule_id}.toml"
        old = _read_toml(path)
        if old is None or old.get("withdrawn"):
            return
        if old.get("cutoffs") and history_of(old)[3] < today:
            return  # closed calls drop out of status-filtered searches: not withdrawn
        _, overridden = self.overrides(rule_id)
        self.stage(path.name, render({**old, "withdrawn": True}, self.source, overridden))
        self.report.withdrawn.append(rule_id)

    def stage(self, name: str, text: str) -> None:
        _sync(self.folder / f".{name}.new", text)
        self.names.append(name)

    def commit(self, manifest: dict[str, list[str]]) -> None:
        self.stage(MANIFEST, _manifest_text(manifest))
        renames = [[f".{name}.new", name] for name in self.names]
        os.sync()  # one flush for every staged file (an fsync each costs ~1 ms per file)
        _sync(self.folder / f"{JOURNAL}.tmp", json.dumps(renames), durable=True)
        os.replace(self.folder / f"{JOURNAL}.tmp", self.folder / JOURNAL)
        _sync_dir(self.folder)
        recover(self.folder)
        _sync_dir(self.folder)


def write_calls(calls: Sequence[ImportedCall], folder: Path, *, source: str, scope: str,
                today: date, keep: Iterable[str] = (), withdraw: bool = True) -> WriteReport:
    """Write `calls` as rule files in `folder`; withdraw the scope's calls no longer listed.

    `scope` names the source and filter of a full import: only calls that an earlier import
    of the same scope wrote are withdrawn, and only while their last deadline is ahead of
    `today`. `keep` lists rule ids not to withdraw (records skipped as broken this time).
    """
    folder.mkdir(parents=True, exist_ok=True)
    recover(folder)
    manifest: dict[str, list[str]] = json.loads((folder / MANIFEST).read_text(encoding="utf-8")) \
        if (folder / MANIFEST).exists() else {}
    plan = _Plan(folder, source)
    seen: set[str] = set()
    for call in sorted(calls, key=lambda c: c.rule_id):
        if call.rule_id not in seen:
            seen.add(call.rule_id)
            plan.add(call)
    before = set(manifest.get(scope, []))
    kept = before & set(keep)
    elsewhere = {i for name, ids in manifest.items() if name != scope for i in ids}
    if withdraw:
        for rule_id in sorted(before - seen - kept - elsewhere):
            plan.withdraw(rule_id, today)
    new_manifest = {**manifest, scope: sorted(seen | kept | (before if not withdraw else set()))}
    if plan.names:
        plan.commit(new_manifest)
    elif new_manifest != manifest:  # only the list of ids changed (a scope's first import)
        _sync(folder / f".{MANIFEST}.new", _manifest_text(new_manifest))
        os.replace(folder / f".{MANIFEST}.new", folder / MANIFEST)
    return plan.report


def scope_name(kind: str, filters: Iterable[tuple[str, Iterable[str]]]) -> str:
    """A stable name for one source and filter, e.g. 'fetch programme=Horizon Europe'."""
    parts = [f"{k}={','.join(sorted(v))}" for k, v in sorted(filters) if list(v)]
    return " ".join([kind, *parts])


def when_of(path: Path) -> datetime:
    """When a saved response was retrieved: its modification time, in UTC."""
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(microsecond=0)
