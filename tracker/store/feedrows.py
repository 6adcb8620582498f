"""Reads for `feeds build`: what each event was built from, cheaply, and the events to render.

The catalog is one narrow query over every occurrence (no objects, no date parsing): enough to
decide which feeds changed since the last build. Only the calls whose rows changed are read
back as Occurrences to be rendered.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.models import Change, Occurrence
from tracker.store.queries import CallRecord, _change, _lines, _tags, call_record
from tracker.store.rows import row_occurrence
from tracker.store.schema import Stored, calls, occurrences, revisions, utc_naive

BATCH = 500  # calls per query when occurrences are read back (bound parameters stay few)
SHOWN = ("id", "call_id", "kind", "title", "start_local", "last_utc", "end_date", "timezone",
         "precision", "tentative", "status", "moved_from", "url", "source", "note", "evidence",
         "time_basis", "source_url", "announced")  # what row_occurrence reads


class EventRow(NamedTuple):
    """One occurrence as the build sees it, in the one order (start instant, id)."""

    id: str
    call_id: str
    kind: str
    start: Any  # the backend's own value of start_utc: compared, never shown
    start_local: str  # its first four characters are the local year
    all_day: bool
    timezone: str
    sequence: int
    modified: Any  # the backend's own value of last_modified: compared, never shown
    recent: bool  # starts at or after the catalog's `since`


class CallRow(NamedTuple):
    """One call as the build sees it: its names and what its feeds repeat of it."""

    id: str
    title: str
    programmes: tuple[str, ...]
    tags: tuple[str, ...]
    revision: int
    modified: Any


@dataclass(frozen=True)
class Catalog:
    """Every event and call, with the newest history line of each event."""

    events: list[EventRow]
    calls: dict[str, CallRow]
    last_change: dict[str, int]  # occurrence id -> id of its newest described change


def as_instant(value: Any) -> datetime:
    """A stored last_modified (text in SQLite, a datetime elsewhere) as an aware instant."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC)


def _described() -> sa.ColumnElement[bool]:
    """History lines a feed describes: an occurrence's changes other than its addition."""
    return sa.and_(revisions.c.entity == "occurrence", revisions.c.change != "added",
                   revisions.c.field != "moved_from")


def catalog(conn: Connection, since: datetime) -> Catalog:
    """What every feed is built from; `recent` marks events starting at or after `since`."""
    o = occurrences.c
    modified = sa.type_coerce(o.last_modified, sa.String)  # no parsing: compared as stored
    q = (sa.select(o.id, o.call_id, o.kind, sa.type_coerce(o.start_utc, sa.String),
                   o.start_local, o.all_day, o.timezone, o.sequence, modified,
                   o.start_utc >= utc_naive(since))
         .where(o.status != Stored.MERGED.value).order_by(o.start_utc, o.id))
    events = [EventRow(*r) for r in conn.execute(q).all()]
    tags = _tags(conn)
    c = calls.c
    found = {r.id: CallRow(r.id, r.title, _lines(r.programmes), tags.get(r.id, ()), r.revision,
                           r.last_modified)
             for r in conn.execute(sa.select(c.id, c.title, c.programmes, c.revision,
                                             sa.type_coerce(c.last_modified, sa.String)
                                             .label("last_modified"))).all()}
    newest = sa.select(revisions.c.entity_id, sa.func.max(revisions.c.id)).where(_described()) \
        .group_by(revisions.c.entity_id)
    return Catalog(events, found, {r[0]: int(r[1]) for r in conn.execute(newest).all()})


def occurrences_of(conn: Connection, call_ids: Sequence[str], now: datetime) \
        -> Iterator[tuple[list[Occurrence], dict[str, CallRecord]]]:
    """The occurrences of these calls (withdrawn too, merged ones never) and the calls, a batch
    of calls at a time, with 'passed' computed for `now`."""
    wanted = sorted(call_ids)
    tags = _tags(conn) if wanted else {}
    for start in range(0, len(wanted), BATCH):
        chunk = wanted[start:start + BATCH]
        found = {r.id: call_record(r, tags.get(r.id, ()))
                 for r in conn.execute(sa.select(calls).where(calls.c.id.in_(chunk)))}
        q = (sa.select(*(occurrences.c[n] for n in SHOWN)).where(occurrences.c.call_id.in_(chunk))
             .where(occurrences.c.status != Stored.MERGED.value))
        yield [row_occurrence(r, tags.get(r.call_id, ()), now, found[r.call_id].title,
                              found[r.call_id].programmes) for r in conn.execute(q).all()], found


def changes_of(conn: Connection, call_ids: Sequence[str]) -> dict[str, Change]:
    """The newest described change of each occurrence of these calls."""
    out: dict[str, Change] = {}
    wanted = sorted(call_ids)
    for start in range(0, len(wanted), BATCH):
        q = (sa.select(revisions).where(_described())
             .where(revisions.c.call_id.in_(wanted[start:start + BATCH]))
             .order_by(revisions.c.id))
        out.update((r.entity_id, _change(r)) for r in conn.execute(q))
    return out
