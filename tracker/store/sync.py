"""Sync: rules and occurrences into the store in one transaction, with revision history."""

from __future__ import annotations

import logging
import time as _time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from tracker.errors import StoreError
from tracker.expand import budget_as_of, next_announcement
from tracker.models import Change, Kind, Occurrence, Precision, Rule, Status
from tracker.store.engine import (
    Store,
)
from tracker.store.schema import (
    CALL_FIELDS,
    OCC_FIELDS,
    call_tags,
    calls,
    from_utc_naive,
    occurrences,
    revisions,
    sync_runs,
    utc_naive,
)

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------- rows

def _moment_text(value: datetime | date | None) -> str:
    if value is None:
        return ""
    return value.isoformat()


def occurrence_row(o: Occurrence) -> dict[str, Any]:
    """The stored, day-independent form of an occurrence ('passed' is computed when read)."""
    status = o.standing
    if isinstance(o.start, datetime):
        last = o.start
    else:
        last = datetime.combine(o.last_day + timedelta(days=1), time(0), ZoneInfo(o.timezone))
    return {
        "id": o.id, "call_id": o.call_id, "kind": o.kind.value, "title": o.title,
        "start_local": _moment_text(o.start), "start_utc": utc_naive(o.instant),
        "last_utc": utc_naive(last), "all_day": o.all_day, "end_date": o.end,
        "timezone": o.timezone, "precision": o.precision.value, "tentative": o.tentative,
        "status": status.value, "moved_from": _moment_text(o.original), "url": o.url,
        "source": o.source, "note": o.note,
    }


def call_row(rule: Rule, today: date) -> dict[str, Any]:
    """The stored form of a rule's call-level facts, budget as known on `today`."""
    budget = budget_as_of(rule, today)
    return {
        "id": rule.id, "type": rule.type.value, "title": rule.title,
        "identifiers": " ".join(rule.identifiers), "funder": rule.funder, "url": rule.url,
        "timezone": rule.timezone,
        "submission": rule.submission.value if rule.submission else "",
        "opens": rule.opens, "closes": rule.closes,
        "budget_amount": budget.amount if budget else None,
        "budget_currency": budget.currency if budget else "",
        "budget_remaining": budget.remaining if budget else None,
        "source_file": rule.path, "programmes": "\n".join(rule.programmes),
    }


def _parse_moment(text: str, zone: str) -> datetime | date | None:
    if not text:
        return None
    if "T" in text:
        return datetime.fromisoformat(text).astimezone(ZoneInfo(zone))
    return date.fromisoformat(text)


def row_occurrence(row: Any, tags: tuple[str, ...], now: datetime, call_title: str) \
        -> Occurrence:
    """A stored row back to an Occurrence, with 'passed' computed for `now`."""
    start = _parse_moment(row.start_local, row.timezone)
    assert start is not None
    status = Status(row.status) if row.status != "withdrawn" else Status.CANCELLED
    if status is not Status.CANCELLED and from_utc_naive(row.last_utc) <= now:
        status = Status.PASSED
    return Occurrence(
        id=row.id, call_id=row.call_id, call_title=call_title, kind=Kind(row.kind),
        title=row.title, start=start, timezone=row.timezone, status=status,
        precision=Precision(row.precision), tentative=row.tentative, end=row.end_date,
        original=_parse_moment(row.moved_from, row.timezone), url=row.url, source=row.source,
        note=row.note, tags=tags,
    )


# ---------------------------------------------------------------------------- sync

@dataclass
class SyncReport:
    """What a sync did."""

    added: int = 0
    changed: int = 0
    withdrawn: int = 0
    changes: list[Change] = field(default_factory=list)
    wrote: bool = False

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


def _kind_of_change(entity: str, fields: dict[str, tuple[Any, Any]]) -> str:
    if entity == "call":
        return "budget" if any(f.startswith("budget") for f in fields) else "changed"
    status = fields.get("status")
    if status and status[1] == Status.CANCELLED.value:
        return "cancelled"
    if "start_local" in fields:
        return "moved"
    return "changed"


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


def _apply(conn: Connection, table: sa.Table, entity: str, counter: str, names: Sequence[str],
           fresh: dict[str, dict[str, Any]], now: datetime, report: SyncReport,
           live_calls: frozenset[str] = frozenset()) -> None:
    """Insert, update (with revisions) and withdraw rows of one table; never delete.

    A call's "closes" item that goes away while the call stays has not been cancelled: a
    cut-off now falls on the closing day and stands for it. It is kept as 'merged', hidden
    from listings and feeds, and comes back if the cut-off moves away again.
    """
    stamp = utc_naive(now)
    cols = [table.c.id, table.c.withdrawn, table.c[counter], *(table.c[n] for n in names)]
    existing = {r.id: r._asdict() for r in conn.execute(sa.select(*cols))}
    inserts, updates = [], []
    for key, row in fresh.items():
        call_id = row.get("call_id", key)
        old = existing.get(key)
        if old is None:
            inserts.append({**row, counter: 0, "withdrawn": False, "first_seen": stamp,
                            "last_modified": stamp})
            report.added += 1
            report.changes.append(Change(entity, key, call_id, "added", new=row.get("title", ""),
                                         detected_at=now, source=row.get("source", "")))
            continue
        fields = _diff(old, row, names)
        restored = bool(old["withdrawn"])
        if not fields and not restored:
            continue
        report.changed += 1
        if restored:
            report.changes.append(Change(entity, key, call_id, "restored", detected_at=now,
                                         source=row.get("source", "")))
        kind = _kind_of_change(entity, fields)
        for name, (a, b) in fields.items():
            report.changes.append(Change(entity, key, call_id, kind, name, _text(a), _text(b),
                                         now, row.get("source", "")))
        updates.append({**{n: row[n] for n in row if n != "id"}, "b_id": key,
                        counter: old[counter] + 1, "withdrawn": False, "last_modified": stamp})
    gone = [k for k, old in existing.items() if k not in fresh and not old["withdrawn"]]
    merged = {k for k in gone if k.endswith("/closing") and existing[k].get("call_id")
              in live_calls}
    for key in gone:
        report.withdrawn += 1
        call_id = existing[key].get("call_id", key)
        report.changes.append(Change(entity, key, call_id,
                                     "merged" if key in merged else "withdrawn", detected_at=now))
    if inserts:
        conn.execute(table.insert(), inserts)
    for upd in updates:  # one statement per row: rows differ in which columns they set
        values = {k: v for k, v in upd.items() if k != "b_id"}
        conn.execute(table.update().where(table.c.id == upd["b_id"]).values(**values))
    if gone:
        for key in gone:
            extra = {"status": "merged" if key in merged else "withdrawn"} \
                if entity == "occurrence" else {}
            conn.execute(table.update().where(table.c.id == key).values(
                withdrawn=True, last_modified=stamp, **{counter: existing[key][counter] + 1},
                **extra))


def _bump_for_call_changes(conn: Connection, report: SyncReport, now: datetime) -> None:
    """Events repeat their call's budget: a budget revision is a visible change to them too."""
    changed = {c.call_id for c in report.changes if c.entity == "call" and c.change == "budget"}
    if not changed:
        return
    conn.execute(occurrences.update()
                 .where(occurrences.c.call_id.in_(changed))
                 .where(occurrences.c.kind != "milestone")
                 .where(occurrences.c.withdrawn == sa.false())
                 .values(sequence=occurrences.c.sequence + 1, last_modified=utc_naive(now)))


def last_fingerprint(conn: Connection) -> str | None:
    """The seed fingerprint of the last sync that wrote anything."""
    found = last_run(conn)
    return None if found is None else found[0]


def last_run(conn: Connection) -> tuple[str, datetime | None] | None:
    """(fingerprint, valid_until) of the last sync that wrote anything."""
    row = conn.execute(sa.select(sync_runs.c.fingerprint, sync_runs.c.valid_until)
                       .order_by(sync_runs.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    return str(row.fingerprint), row.valid_until


def sync(store: Store, rules: Sequence[Rule], items: Sequence[Occurrence], now: datetime,
         fingerprint: str, pause_before_commit: float = 0.0) -> SyncReport:
    """Apply rules and their occurrences to the store in ONE transaction; write only changes."""
    report = SyncReport()
    call_rows = {r.id: call_row(r, now.astimezone(r.zone).date()) for r in rules}
    occ_rows = {o.id: occurrence_row(o) for o in items}
    tags = {(r.id, t) for r in rules for t in r.tags}
    nexts = [n for r in rules
             if (n := next_announcement(r, now.astimezone(r.zone).date())) is not None]
    valid_until = utc_naive(min(nexts)) if nexts else None
    try:
        with store.write() as conn:
            _apply(conn, calls, "call", "revision", CALL_FIELDS, call_rows, now, report)
            _apply(conn, occurrences, "occurrence", "sequence", OCC_FIELDS, occ_rows, now, report,
                   frozenset(call_rows))
            _bump_for_call_changes(conn, report, now)
            have = {(r.call_id, r.tag) for r in conn.execute(sa.select(call_tags))}
            # a withdrawn call keeps its tags, so its tag feeds can announce the cancellations
            tags |= {(c, t) for c, t in have if c not in call_rows}
            if have != tags:
                conn.execute(call_tags.delete())
                if tags:
                    conn.execute(call_tags.insert(), [{"call_id": c, "tag": t} for c, t in tags])
            if report.total == 0 and have == tags and \
                    last_run(conn) == (fingerprint, valid_until):
                return report  # nothing changed: the transaction commits with no writes
            key = conn.execute(sync_runs.insert().values(
                finished_at=utc_naive(now), fingerprint=fingerprint, added=report.added,
                changed=report.changed, withdrawn=report.withdrawn,
                valid_until=valid_until)).inserted_primary_key
            run_id = key[0] if key else None
            if report.changes:
                conn.execute(revisions.insert(), [{
                    "entity": c.entity, "entity_id": c.entity_id, "call_id": c.call_id,
                    "change": c.change, "field": c.field, "old": c.old, "new": c.new,
                    "detected_at": utc_naive(now), "source": c.source, "sync_id": run_id,
                } for c in report.changes])
            if pause_before_commit:  # fault-injection hook for the crash tests
                log.warning("test hook: holding the sync transaction open for %ss",
                            pause_before_commit)
                _time.sleep(pause_before_commit)
            report.wrote = True
    except SQLAlchemyError as exc:
        raise StoreError(f"sync failed, nothing was changed: {exc.__class__.__name__}: "
                         f"{getattr(exc, 'orig', exc)}") from None
    return report


