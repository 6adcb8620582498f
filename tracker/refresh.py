"""Bringing the store up to date with the rule files, reading only the files that changed.

The store remembers each synced rule file: its size and time, a digest of its text, the call it
holds and when its view next changes by itself (an announcement day). A sync lists the files
with one stat each, reads only those whose size or time changed, parses only those whose text
changed, and compares only their calls with the store. As git does with its index, a stamp
is not trusted when first seen (two edits of the same size in one clock tick look the same):
the file is read again until a sync sees the same stamp two seconds (of `now`) later. The first
sync,
or a store that remembers no files (made by an older version), reads and compares everything.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tracker import store as db
from tracker.errors import RuleError
from tracker.models import Rule
from tracker.rules.expand import expand
from tracker.rules.files import (
    Listed,
    Read,
    check_read,
    combined,
    digest,
    empty_folders,
    list_rule_files,
)
from tracker.rules.history import rule_history
from tracker.rules.schedule import next_announcement
from tracker.store.rulefiles import (
    FileChanges,
    RuleFile,
    last_listing,
    load_rule_files,
    restamp,
)
from tracker.store.schema import utc_naive
from tracker.store.sync import Orphans, Scope

SETTLE = 2.0  # seconds: a file written more recently is read again at the next sync


def _key(f: str) -> str:
    return f if f.startswith("/") else os.path.abspath(f)


@dataclass
class Plan:
    """What a sync has to read: every rule file listed, what the store remembers of them,
    the files whose stamp changed (or that are due for an announcement) and the files gone."""

    listed: list[Listed]
    known: dict[str, RuleFile]
    stale: list[Listed] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)

    @property
    def everything(self) -> bool:
        """Nothing remembered: every file is read and every call compared."""
        return not self.known

    @property
    def quiet(self) -> bool:
        """No file to read and none gone."""
        return not self.stale and not self.gone and not self.everything


def listing_mark(listed: Sequence[Listed]) -> str:
    """One hash of every file's path and stamp."""
    h = hashlib.sha256()
    for f in listed:
        h.update(f"{f.path}\0{f.stamp}\0".encode())
    return h.hexdigest()


def plan(store: db.Store, listed: list[Listed], now: datetime) -> Plan:
    """Compare the listed rule files with what the store remembers of them."""
    p = Plan(listed, load_rule_files(store))
    stamp_now = utc_naive(now)
    here = set()
    for f in listed:
        key = _key(f.path)
        here.add(key)
        had = p.known.get(key)
        if had is None or had.stamp != f.stamp or not had.stamp or \
                (had.valid_until is not None and had.valid_until <= stamp_now):
            p.stale.append(f)
    p.gone = sorted(set(p.known) - here)
    return p


def _trusted(f: Listed, had: RuleFile | None, now: datetime) -> str:
    """The stamp to remember. A stamp is trusted once a sync saw it again at least SETTLE
    seconds (of `now`) after it first saw it; until then it is remembered as '?stamp@when'
    and the file is read again at each sync. Comparing the file's time with `now` instead
    would trust a file just written whenever the clock runs ahead of the file system's."""
    first = f"?{f.stamp}@"
    if had is not None and had.stamp.startswith(first):
        seen = float(had.stamp.removeprefix(first))
        return f.stamp if now.timestamp() - seen >= SETTLE else had.stamp
    return f"{first}{now.timestamp():.0f}"


def _settled(files: Sequence[RuleFile]) -> bool:
    return not any(f.stamp.startswith("?") for f in files)


def _remember(f: Listed, had: RuleFile | None, got: Read, rule: Rule, now: datetime) \
        -> RuleFile:
    nxt = next_announcement(rule, now.astimezone(rule.zone).date())
    return RuleFile(_key(f.path), _trusted(f, had, now), got.digest, rule.id,
                    None if nxt is None else utc_naive(nxt))


def sync(store: db.Store, paths: Sequence[Path], now: datetime,
         orphans: Orphans = "keep") -> db.SyncReport:
    """Read the rule files that changed (any error aborts before the store is touched) and
    apply their differences; `orphans` says what becomes of stored calls whose rule file is
    gone. Nothing changed and nothing to prune: nothing is read, parsed or written."""
    listed = list_rule_files(paths)
    mark = listing_mark(listed)
    nothing_to_prune = orphans == "keep" or not db.orphaned(store)
    if nothing_to_prune:
        seen, until = last_listing(store)
        if seen == mark and (until is None or until > utc_naive(now)):
            return db.SyncReport()  # no file changed: none is read (one stat each)
    p = plan(store, listed, now)
    if p.quiet and nothing_to_prune:
        restamp(store, FileChanges(listing=mark))  # every remembered stamp is trusted
        return db.SyncReport()
    problems = empty_folders(paths)
    stale_keys = {_key(f.path) for f in p.stale}
    changed: list[Listed] = []
    touched: list[RuleFile] = []
    for f in p.stale:  # a file whose text is the same needs no parsing (touched, checked out)
        had = p.known.get(_key(f.path))
        due = had is not None and had.valid_until is not None and \
            had.valid_until <= utc_naive(now)
        if had is not None and not due and digest(Path(f.path)) == had.digest:
            touched.append(RuleFile(had.path, _trusted(f, had, now), had.digest, had.call_id,
                                    had.valid_until))
        else:
            changed.append(f)
    clean = {r.call_id: r.path for k, r in p.known.items()
             if k not in stale_keys and k not in p.gone} | \
        {t.call_id: t.path for t in touched}
    reads, found = check_read([Path(f.path) for f in changed], taken=clean)
    errors = [x for x in problems + found if not x.warning]
    if errors:
        raise RuleError(errors)
    if not changed and not p.gone and orphans == "keep":
        restamp(store, FileChanges(touched, listing=mark if _settled(touched) else ""))
        return db.SyncReport()
    by_path = {_key(f.path): f for f in changed}
    rules = [r.rule for r in reads if r.rule is not None]
    put = [_remember(by_path[_key(r.rule.path)], p.known.get(_key(r.rule.path)), r, r.rule,
                     now) for r in reads if r.rule is not None] + touched
    digests = {k: r.digest for k, r in p.known.items() if k not in p.gone} | \
        {f.path: f.digest for f in put}
    named = frozenset(clean) | {r.id for r in rules}
    # only the calls read are compared: a call whose file is gone has no file that names it,
    # so it is an orphan, kept as it is or (pruning) compared by the store's sync
    compared = None if p.everything else frozenset(r.id for r in rules)
    history = [c for r in rules for c in rule_history(r, now, now.astimezone(r.zone).date())]
    items = [o for r in rules for o in expand(r, now)]  # the store needs no order
    return db.sync(store, rules, items, now, combined(digests.items()),
                   history, orphans, Scope(compared, named),
                   FileChanges(put, p.gone, everything=p.everything,
                               listing=mark if _settled(put) else ""))


