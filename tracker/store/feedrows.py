"""Reads for `feeds build`: what each event was built from, cheaply, and the events to render.

The catalog is one narrow query over every occurrence (no objects, no date parsing): enough to
decide which feeds changed since the last build. Only the calls whose rows changed are read
back as Occurrences to be rendered.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
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


@dataclass(frozen=True)
class Events:
    """Every event as columns, in the one order (start instant, id): an event's index is its
    place in that order."""

    ids: tuple[str, ...]
    calls: tuple[str, ...]
    kinds: tuple[str, ...]
    starts: tuple[Any, ...]  # start_utc as the backend gives it: compared, never shown
    zones: tuple[str, ...]  # the zone of a timed event, '' for an all-day one
    years: tuple[str, ...]  # the local year of the start ('2025')
    sequences: tuple[int, ...]
    modified: tuple[Any, ...]  # last_modified as the backend gives it: compared, never shown
    recent: tuple[bool, ...]  # starts at or after the catalog's `since`


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

    events: Events
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


def _as_stored(column: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    """A column as the driver gives it (no parsing): values to compare, never to show."""
    return sa.type_coerce(column, sa.String)


def catalog(conn: Connection, since: datetime) -> Catalog:
    """What every feed is built from; `recent` marks events starting at or after `since`."""
    o = occurrences.c
    q = (sa.select(o.id, o.call_id, o.kind, _as_stored(o.start_utc),
                   sa.case((o.all_day == sa.true(), ""), else_=o.timezone),
                   sa.func.substr(o.start_local, 1, 4), o.sequence, _as_stored(o.last_modified),
                   o.start_utc >= utc_naive(since))
         .where(o.status != Stored.MERGED.value).order_by(o.start_utc, o.id))
    rows = conn.execute(q).all()
    events = Events(*zip(*rows, strict=True)) if rows else Events(*[()] * 9)
    tags = _tags(conn)
    c = calls.c
    found = {r.id: CallRow(r.id, r.title, _lines(r.programmes), tags.get(r.id, ()), r.revision,
                           r.last_modified)
             for r in conn.execute(sa.select(c.id, c.title, c.programmes, c.revision,
                                             _as_stored(c.last_modified)
                                             .label("last_modified"))).all()}
    newest = sa.select(revisions.c.entity_id, sa.func.max(revisions.c.id)).where(_described()) \
        .group_by(revisions.c.entity_id)
    return Catalog(events, found, {r[0]: int(r[1]) for r in conn.execute(newest).all()})


def occurrences_of(conn: Connection, call_ids: Sequence[str], now: datetime,
                   tags: Mapping[str, tuple[str, ...]]) \
        -> Iterator[tuple[list[Occurrence], dict[str, CallRecord]]]:
    """The occurrences of these calls (withdrawn too, merged ones never) and the calls (with
    their `tags`), a batch of calls at a time, with 'passed' computed for `now`."""
    wanted = sorted(call_ids)
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
