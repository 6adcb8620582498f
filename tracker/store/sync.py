"""Sync: rules and occurrences into the store in one transaction, with revision history.

The first sync of a store is a baseline: one line, plus what the rule files' amendments did on
the days they were announced. Later syncs record what changed, dated by the amendment that
explains it when there is one. A call whose rule file went missing is never withdrawn silently:
it is kept (and flagged), or the sync refuses, unless pruning was asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from tracker.errors import StoreError, UsageError
from tracker.models import Change, ChangeKind, Occurrence, Rule, Status
from tracker.rules.expand import known_on
from tracker.rules.schedule import next_announcement
from tracker.store.engine import Store
from tracker.store.rows import call_row, occurrence_row
from tracker.store.rulefiles import FileChanges, apply_file_changes, chunks, earliest_valid_until
from tracker.store.schema import (
    CALL_FIELDS,
    OCC_FIELDS,
    Stored,
    call_tags,
    calls,
    occurrences,
    revisions,
    sync_runs,
    utc_naive,
)

log = logging.getLogger(__name__)
Orphans = Literal["keep", "refuse", "prune"]


@dataclass
class SyncReport:
    """What a sync did."""

    added: int = 0
    changed: int = 0
    withdrawn: int = 0
    changes: list[Change] = field(default_factory=list)
    wrote: bool = False
    baseline: bool = False
    orphans: list[str] = field(default_factory=list)  # calls kept without a rule file

    @property
    def total(self) -> int:
        """How many calls and occurrences were touched."""
        return self.added + self.changed + self.withdrawn


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _kind_of_change(entity: str, fields: dict[str, tuple[Any, Any]]) -> ChangeKind:
    if entity == "call":
        return ChangeKind.BUDGET if any(f.startswith("budget") for f in fields) \
            else ChangeKind.CHANGED
    status = fields.get("status")
    if status and status[1] == Status.CANCELLED.value:
        return ChangeKind.CANCELLED
    if "start_local" in fields:
        return ChangeKind.MOVED
    tentative = fields.get("tentative")
    if tentative and tentative[1] is False:
        return ChangeKind.CONFIRMED
    return ChangeKind.CHANGED


def _diff(old: dict[str, Any], new: dict[str, Any], names: Sequence[str]) \
        -> dict[str, tuple[Any, Any]]:
    out = {}
    for n in names:
        a, b = old.get(n), new.get(n)
        if isinstance(a, datetime) or isinstance(b, datetime):
            a, b = _text(a), _text(b)
        if a != b:
            out[n] = (a, b)
    return out


@dataclass
class _Table:
    """One table being synced: which columns are compared, which counter goes up."""

    table: sa.Table
    entity: str
    counter: str
    names: Sequence[str]


def _existing(conn: Connection, t: _Table, scope: Sequence[str] | None) \
        -> dict[str, dict[str, Any]]:
    """The stored rows of one table, of the calls in `scope` only (None: all)."""
    table = t.table
    cols = [table.c.id, table.c.withdrawn, table.c[t.counter], *(table.c[n] for n in t.names)]
    if scope is None:
        return {r.id: r._asdict() for r in conn.execute(sa.select(*cols))}
    key = table.c.id if t.entity == "call" else table.c.call_id
    out: dict[str, dict[str, Any]] = {}
    for part in chunks(scope):
        out.update((r.id, r._asdict()) for r in conn.execute(sa.select(*cols)
                                                              .where(key.in_(part))))
    return out


def _apply(conn: Connection, t: _Table, fresh: dict[str, dict[str, Any]], now: datetime,
           report: SyncReport, keep: frozenset[str], live_calls: frozenset[str] = frozenset(),
           scope: Sequence[str] | None = None) -> None:
    """Insert, update (with revisions) and withdraw rows of one table (of the calls in
    `scope`, or all); never delete.

    Rows of the calls in `keep` (kept without a rule file) are left alone. A call's "closes"
    item that goes away while the call stays has not been cancelled: a cut-off now falls on the
    closing day and stands for it. It is kept as 'merged', hidden from listings and feeds.
    """
    table, stamp = t.table, utc_naive(now)
    existing = _existing(conn, t, scope)
    fresh_marks = {t.counter: 0, "withdrawn": False, "first_seen": stamp, "last_modified": stamp}
    inserts, updates = [], []
    for key, row in fresh.items():
        call_id = row.get("call_id", key)
        old = existing.get(key)
        if old is None:
            row.update(fresh_marks)
            inserts.append(row)
            report.added += 1
            if not report.baseline:  # a baseline is one line of history, not one per row
                report.changes.append(Change(t.entity, key, call_id, ChangeKind.ADDED,
                                             new=row.get("title", ""), detected_at=now,
                                             source=row.get("source", "")))
            continue
        fields = _diff(old, row, t.names)
        restored = bool(old["withdrawn"])
        if not fields and not restored:
            continue
        report.changed += 1
        if restored:
            report.changes.append(Change(t.entity, key, call_id, ChangeKind.RESTORED,
                                         detected_at=now, source=row.get("source", "")))
        kind = _kind_of_change(t.entity, fields)
        for name, (a, b) in fields.items():
            report.changes.append(Change(t.entity, key, call_id, kind, name, _text(a), _text(b),
                                         now, row.get("source", "")))
        updates.append({**{n: row[n] for n in row if n != "id"}, "b_id": key,
                        t.counter: old[t.counter] + 1, "withdrawn": False,
                        "last_modified": stamp})
    gone = [k for k, old in existing.items() if k not in fresh and not old["withdrawn"]
            and old.get("call_id", k) not in keep]
    merged = {k for k in gone if k.endswith("/closing") and existing[k].get("call_id")
              in live_calls}
    for key in gone:
        report.withdrawn += 1
        kind = ChangeKind.MERGED if key in merged else ChangeKind.WITHDRAWN
        report.changes.append(Change(t.entity, key, existing[key].get("call_id", key), kind,
                                     detected_at=now))
    if inserts:
        conn.execute(table.insert(), inserts)
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for upd in updates:  # one executemany per set of columns (all rows of a table, in practice)
        by_columns.setdefault(tuple(sorted(upd)), []).append(upd)
    for columns, group in by_columns.items():
        stmt = table.update().where(table.c.id == sa.bindparam("b_id")).values(
            {c: sa.bindparam(c) for c in columns if c != "b_id"})
        conn.execute(stmt, group)
    for key in gone:
        extra = {"status": Stored.MERGED.value if key in merged else Stored.WITHDRAWN.value} \
            if t.entity == "occurrence" else {}
        conn.execute(table.update().where(table.c.id == key).values(
            withdrawn=True, last_modified=stamp, **{t.counter: existing[key][t.counter] + 1},
            **extra))


def _bump_for_call_changes(conn: Connection, report: SyncReport, now: datetime) -> None:
    """Events repeat their call's budget: a budget revision is a visible change to them too."""
    changed = {c.call_id for c in report.changes if c.entity == "call"
               and c.change is ChangeKind.BUDGET}
    if not changed:
        return
    conn.execute(occurrences.update()
                 .where(occurrences.c.call_id.in_(changed))
                 .where(occurrences.c.kind != "milestone")
                 .where(occurrences.c.withdrawn == sa.false())
                 .values(sequence=occurrences.c.sequence + 1, last_modified=utc_naive(now)))


def last_run(conn: Connection) -> tuple[str, datetime | None] | None:
    """(fingerprint, valid_until) of the last sync that wrote anything."""
    row = conn.execute(sa.select(sync_runs.c.fingerprint, sync_runs.c.valid_until)
                       .order_by(sync_runs.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    return str(row.fingerprint), row.valid_until


def _explain(changes: list[Change], history: Sequence[Change]) -> None:
    """Date a detected change by the amendment that explains it (its day and source)."""
    told = {(h.entity_id, h.change): h for h in history}
    for c in changes:
        h = told.get((c.entity_id, c.change))
        if h is not None:
            c.announced, c.source, c.source_url = h.announced, h.source, h.source_url


def _orphans(conn: Connection, live: set[str]) -> list[str]:
    q = sa.select(calls.c.id).where(calls.c.withdrawn == sa.false()).order_by(calls.c.id)
    return [r.id for r in conn.execute(q) if r.id not in live]


def _record(conn: Connection, report: SyncReport, now: datetime, fingerprint: str,
            valid_until: datetime | None, history: Sequence[Change], counted: tuple[int, int]) \
        -> None:
    key = conn.execute(sync_runs.insert().values(
        finished_at=utc_naive(now), fingerprint=fingerprint, added=report.added,
        changed=report.changed, withdrawn=report.withdrawn,
        valid_until=valid_until)).inserted_primary_key
    run_id = key[0] if key else None
    lines = report.changes
    if report.baseline:  # one line for everything known, then the rule files' own history
        calls_n, items = counted
        lines = [Change("store", "baseline", "", ChangeKind.BASELINE,
                        new=f"{calls_n} calls and {items} dates as the rule files give them",
                        detected_at=now), *history]
    if lines:
        conn.execute(revisions.insert(), [{
            "entity": c.entity, "entity_id": c.entity_id, "call_id": c.call_id,
            "change": c.change.value, "field": c.field, "old": c.old, "new": c.new,
            "detected_at": utc_naive(now), "source": c.source, "sync_id": run_id,
            "announced": c.announced, "source_url": c.source_url,
        } for c in lines])


def _tags(conn: Connection, scope: Sequence[str] | None) -> set[tuple[str, str]]:
    if scope is None:
        return {(r.call_id, r.tag) for r in conn.execute(sa.select(call_tags))}
    return {(r.call_id, r.tag) for part in chunks(scope)
            for r in conn.execute(sa.select(call_tags).where(call_tags.c.call_id.in_(part)))}


def _put_tags(conn: Connection, scope: Sequence[str] | None, tags: set[tuple[str, str]]) \
        -> None:
    if scope is None:
        conn.execute(call_tags.delete())
    for part in chunks(scope or ()):
        conn.execute(call_tags.delete().where(call_tags.c.call_id.in_(part)))
    if tags:
        conn.execute(call_tags.insert(), [{"call_id": c, "tag": t} for c, t in sorted(tags)])


@dataclass(frozen=True)
class Scope:
    """What a sync compares: the calls whose rule files were read (None: every call), and
    the ids of every call that has a rule file now (read or not)."""

    calls: frozenset[str] | None = None
    named: frozenset[str] = frozenset()


def _valid_until(conn: Connection, rules: Sequence[Rule], now: datetime,
                 files: FileChanges | None) -> datetime | None:
    """When the store's view next changes by itself (an announcement day comes)."""
    if files is not None:
        apply_file_changes(conn, files)
        return earliest_valid_until(conn)
    nexts = [n for r in rules
             if (n := next_announcement(r, now.astimezone(r.zone).date())) is not None]
    return utc_naive(min(nexts)) if nexts else None


def sync(store: Store, rules: Sequence[Rule], items: Sequence[Occurrence], now: datetime,
         fingerprint: str, history: Sequence[Change] = (), orphans: Orphans = "keep",
         scope: Scope | None = None, files: FileChanges | None = None) -> SyncReport:
    """Apply rules and their occurrences to the store in ONE transaction; write only changes.

    `history` is what the rules' amendments did (for the baseline and to date changes);
    `orphans` says what to do with stored calls that no rule has any more. With a `scope`,
    `rules` and `items` are those of the calls in scope.calls only, and only those calls are
    compared; `files` is what to remember of the rule files read.
    """
    report = SyncReport()
    named = scope.named if scope is not None else frozenset(r.id for r in rules)
    live = [r for r in rules if known_on(r, now.astimezone(r.zone).date())]
    call_rows = {r.id: call_row(r, now.astimezone(r.zone).date()) for r in live}
    occ_rows = {o.id: occurrence_row(o) for o in items}
    tags = {(r.id, t) for r in live for t in r.tags}
    try:
        with store.write() as conn:
            previous = last_run(conn)
            report.baseline = previous is None and conn.execute(
                sa.select(sa.func.count()).select_from(calls)).scalar_one() == 0
            report.orphans = _orphans(conn, set(named))
            if report.orphans and orphans == "refuse":
                raise UsageError(
                    f"{len(report.orphans)} call(s) in the store have no rule file any more: "
                    f"{', '.join(report.orphans[:10])}{' ...' if len(report.orphans) > 10 else ''}"
                    ". If their files were removed on purpose, run 'tracker sync --prune' to "
                    "withdraw them; otherwise check the seeds folders (tracker config).")
            keep = frozenset(report.orphans) if orphans != "prune" else frozenset()
            compared = None if scope is None or scope.calls is None else \
                sorted(scope.calls | (set(report.orphans) if orphans == "prune" else set()))
            _apply(conn, _Table(calls, "call", "revision", CALL_FIELDS), call_rows, now, report,
                   keep, scope=compared)
            _apply(conn, _Table(occurrences, "occurrence", "sequence", OCC_FIELDS), occ_rows,
                   now, report, keep, frozenset(call_rows), compared)
            flagged = {r.id for r in conn.execute(sa.select(calls.c.id)
                                                  .where(calls.c.orphaned == sa.true()))}
            if flagged != set(keep):
                conn.execute(calls.update().values(orphaned=calls.c.id.in_(sorted(keep))))
            _bump_for_call_changes(conn, report, now)
            _explain(report.changes, history)
            have = _tags(conn, compared)
            # a withdrawn or kept call keeps its tags, so its tag feeds stay as they were
            tags |= {(c, t) for c, t in have if c not in call_rows}
            if have != tags:
                _put_tags(conn, compared, tags)
            valid_until = _valid_until(conn, rules, now, files)
            if report.total == 0 and have == tags and flagged == set(keep) and \
                    previous == (fingerprint, valid_until):
                return report  # nothing changed (remembered file stamps may have)
            _record(conn, report, now, fingerprint, valid_until, history,
                    (len(call_rows), len(occ_rows)))
            report.wrote = True
    except SQLAlchemyError as exc:
        raise StoreError(f"sync failed, nothing was changed: {exc.__class__.__name__}: "
                         f"{getattr(exc, 'orig', exc)}") from None
    return report
