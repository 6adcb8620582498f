"""Reads: occurrences, calls, history and state for listings, feeds and status."""

from __future__ import annotations

import logging
import time as _time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from tracker.models import Change, Occurrence, Revision
from tracker.store.engine import (
    Store,
    make_engine,
)
from tracker.store.schema import (
    call_tags,
    calls,
    from_utc_naive,
    occurrences,
    revisions,
    runtime_state,
    sync_runs,
    utc_naive,
)
from tracker.store.sync import (
    last_run,
    row_occurrence,
)

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------- queries

@dataclass(frozen=True)
class Window:
    """A coarse SQL pre-filter; exact filtering is the service's job."""

    since: datetime | None = None
    until: datetime | None = None
    calls: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    include_withdrawn: bool = False


def load_occurrences(store: Store, window: Window, now: datetime) -> list[Occurrence]:
    """Occurrences from the store, in the one chronological order."""
    q = sa.select(occurrences, calls.c.title.label("call_title")).join(
        calls, calls.c.id == occurrences.c.call_id)
    if window.since is not None:
        q = q.where(occurrences.c.last_utc >= utc_naive(window.since))
    if window.until is not None:
        q = q.where(occurrences.c.start_utc <= utc_naive(window.until))
    if window.calls:
        q = q.where(occurrences.c.call_id.in_(window.calls))
    if window.kinds:
        q = q.where(occurrences.c.kind.in_(window.kinds))
    if window.tags:
        tagged = sa.select(call_tags.c.call_id).where(call_tags.c.tag.in_(window.tags))
        q = q.where(occurrences.c.call_id.in_(tagged))
    if not window.include_withdrawn:
        q = q.where(occurrences.c.withdrawn == sa.false())
    q = q.where(occurrences.c.status != "merged")  # a closing that a cut-off stands for
    q = q.order_by(occurrences.c.start_utc, occurrences.c.id)
    with store.read() as conn:
        tag_map: dict[str, list[str]] = {}
        for r in conn.execute(sa.select(call_tags).order_by(call_tags.c.tag)):
            tag_map.setdefault(r.call_id, []).append(r.tag)
        tags = {k: tuple(v) for k, v in tag_map.items()}
        return [row_occurrence(r, tags.get(r.call_id, ()), now, r.call_title)
                for r in conn.execute(q)]


def revision_map(store: Store) -> dict[str, Revision]:
    """Every occurrence's sequence and last-modified instant."""
    q = sa.select(occurrences.c.id, occurrences.c.sequence, occurrences.c.last_modified)
    with store.read() as conn:
        return {r.id: Revision(r.sequence, from_utc_naive(r.last_modified))
                for r in conn.execute(q)}


def changes_since(store: Store, since: datetime | None, call_ids: Sequence[str] = (),
                  strictly_after: bool = False, after_id: int | None = None,
                  upto_id: int | None = None) -> list[Change]:
    """History lines detected at or after `since` (or strictly after), and with a revision id
    in (after_id, upto_id] when given, oldest first."""
    q = sa.select(revisions).order_by(revisions.c.id)
    if after_id is not None:
        q = q.where(revisions.c.id > after_id)
    if upto_id is not None:
        q = q.where(revisions.c.id <= upto_id)
    if since is not None:
        column = revisions.c.detected_at
        bound = utc_naive(since)
        q = q.where(column > bound if strictly_after else column >= bound)
    if call_ids:
        q = q.where(revisions.c.call_id.in_(call_ids))
    with store.read() as conn:
        return [Change(r.entity, r.entity_id, r.call_id, r.change, r.field, r.old, r.new,
                       from_utc_naive(r.detected_at), r.source) for r in conn.execute(q)]


def call_names(store: Store) -> list[tuple[str, list[str]]]:
    """Every stored call's id and official identifiers."""
    with store.read() as conn:
        return [(r.id, r.identifiers.split()) for r in
                conn.execute(sa.select(calls.c.id, calls.c.identifiers).order_by(calls.c.id))]


def last_sync(store: Store) -> tuple[datetime, str] | None:
    """When the last writing sync finished, and its seed fingerprint."""
    with store.read() as conn:
        row = conn.execute(sa.select(sync_runs).order_by(sync_runs.c.id.desc()).limit(1)).first()
    return None if row is None else (from_utc_naive(row.finished_at), str(row.fingerprint))


def is_stale(store: Store, fingerprint: str, now: datetime) -> bool:
    """True when the seeds differ from what the store last synced, or when an amendment or
    milestone announced for a later day has become known since."""
    with store.read() as conn:
        found = last_run(conn)
    if found is None or found[0] != fingerprint:
        return True
    return found[1] is not None and utc_naive(now) >= found[1]


def counts(store: Store) -> dict[str, int]:
    """Row counts, for status and tests."""
    with store.read() as conn:
        return {t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                for t in (calls, occurrences, revisions, sync_runs)}


def occurrence_state(store: Store, occ_id: str) -> dict[str, Any] | None:
    """One stored occurrence row as a dict (None when absent)."""
    with store.read() as conn:
        row = conn.execute(sa.select(occurrences).where(occurrences.c.id == occ_id)).first()
    return None if row is None else dict(row._mapping)


def wait_for(url: str, seconds: float = 10.0) -> None:
    """Retry connecting until the server answers (for a database that is starting)."""
    deadline = _time.monotonic() + seconds
    while True:
        try:
            engine = make_engine(url)
            with engine.connect():
                engine.dispose()
                return
        except OperationalError:
            if _time.monotonic() > deadline:
                raise
            _time.sleep(0.2)


@dataclass(frozen=True)
class CallRecord:
    """A stored call, as feeds and digests describe it."""

    id: str
    type: str
    title: str
    url: str
    funder: str
    programmes: tuple[str, ...]
    tags: tuple[str, ...]
    budget_amount: int | None
    budget_currency: str
    budget_remaining: int | None
    withdrawn: bool

    def budget_label(self) -> str:
        """'EUR 1,000,000,000 (remaining EUR 0)' or ''."""
        if self.budget_amount is None:
            return ""
        text = f"{self.budget_currency} {self.budget_amount:,}"
        if self.budget_remaining is not None:
            text += f" (remaining {self.budget_currency} {self.budget_remaining:,})"
        return text


def load_calls(store: Store) -> dict[str, CallRecord]:
    """Every stored call by id."""
    with store.read() as conn:
        tag_map: dict[str, list[str]] = {}
        for r in conn.execute(sa.select(call_tags).order_by(call_tags.c.tag)):
            tag_map.setdefault(r.call_id, []).append(r.tag)
        return {r.id: CallRecord(
            r.id, r.type, r.title, r.url, r.funder,
            tuple(p for p in r.programmes.split("\n") if p), tuple(tag_map.get(r.id, ())),
            r.budget_amount, r.budget_currency, r.budget_remaining, r.withdrawn,
        ) for r in conn.execute(sa.select(calls).order_by(calls.c.id))}


def last_changes(store: Store) -> dict[str, Change]:
    """The latest change (other than 'added') of each occurrence, for a feed's DESCRIPTION."""
    q = (sa.select(revisions).where(revisions.c.entity == "occurrence")
         .where(revisions.c.change != "added").where(revisions.c.field != "moved_from")
         .order_by(revisions.c.id))
    out: dict[str, Change] = {}
    with store.read() as conn:
        for r in conn.execute(q):
            out[r.entity_id] = Change(r.entity, r.entity_id, r.call_id, r.change, r.field, r.old,
                                      r.new, from_utc_naive(r.detected_at), r.source)
    return out


def state_token(store: Store) -> str:
    """Changes whenever anything a feed shows changes (the last sync run's id)."""
    with store.read() as conn:
        row = conn.execute(sa.select(sa.func.max(sync_runs.c.id))).scalar()
    return str(row or 0)



def put_state(store: Store, values: dict[str, str], now: datetime) -> None:
    """Upsert runtime facts (heartbeat, next runs, last errors) reported by the scheduler."""
    stamp = utc_naive(now)
    with store.write() as conn:
        have = {r.key for r in conn.execute(sa.select(runtime_state.c.key)
                                            .where(runtime_state.c.key.in_(list(values))))}
        for key, value in values.items():
            if key in have:
                conn.execute(runtime_state.update().where(runtime_state.c.key == key)
                             .values(value=value, updated_at=stamp))
            else:
                conn.execute(runtime_state.insert().values(key=key, value=value,
                                                           updated_at=stamp))


def get_state(store: Store) -> dict[str, tuple[str, datetime]]:
    """Every runtime fact with when it was written."""
    with store.read() as conn:
        return {r.key: (r.value, from_utc_naive(r.updated_at))
                for r in conn.execute(sa.select(runtime_state).order_by(runtime_state.c.key))}


def revision_mark(store: Store) -> int:
    """The newest revision id (0 for none): what a digest rendered now can know about."""
    with store.read() as conn:
        return int(conn.execute(sa.select(sa.func.max(revisions.c.id))).scalar() or 0)
