"""Reads: occurrences, calls, history and state for listings, feeds and status."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from tracker.models import (
    Change,
    ChangeKind,
    Kind,
    Occurrence,
    Revision,
    Rule,
    Status,
    money,
)
from tracker.store.engine import Store
from tracker.store.rows import row_occurrence, row_rule
from tracker.store.schema import (
    Stored,
    call_tags,
    calls,
    from_utc_naive,
    occurrences,
    revisions,
    sync_runs,
    utc_naive,
)

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------- queries

@dataclass(frozen=True)
class Window:
    """A coarse SQL pre-filter; exact filtering is the service's job."""

    since: datetime | None = None
    until: datetime | None = None
    calls: tuple[str, ...] = ()
    kinds: tuple[Kind, ...] = ()
    tags: tuple[str, ...] = ()
    include_withdrawn: bool = False
    overdue: datetime | None = None  # only expected milestones that passed by then, unseen


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
        q = q.where(occurrences.c.kind.in_([k.value for k in window.kinds]))
    if window.tags:
        tagged = sa.select(call_tags.c.call_id).where(call_tags.c.tag.in_(window.tags))
        q = q.where(occurrences.c.call_id.in_(tagged))
    if window.overdue is not None:  # what expected_overdue() says, in SQL
        q = q.where(occurrences.c.kind == Kind.MILESTONE.value,
                    occurrences.c.tentative == sa.true(),
                    occurrences.c.status.not_in([Status.CANCELLED.value, Stored.WITHDRAWN.value]),
                    occurrences.c.last_utc <= utc_naive(window.overdue))
    if not window.include_withdrawn:
        q = q.where(occurrences.c.withdrawn == sa.false())
    q = q.where(occurrences.c.status != Stored.MERGED.value)  # a cut-off stands for it
    q = q.add_columns(calls.c.programmes.label("call_programmes"))
    q = q.order_by(occurrences.c.start_utc, occurrences.c.id)
    with store.read() as conn:
        rows = conn.execute(q).all()
        if not rows:
            return []
        few = {r.call_id for r in rows} if len(rows) <= 500 else set()
        tags = _tags(conn, sorted(few) if few else window.calls)  # few calls: only theirs
        return [row_occurrence(r, tags.get(r.call_id, ()), now, r.call_title,
                               _lines(r.call_programmes)) for r in rows]


def _lines(text: str) -> tuple[str, ...]:
    return tuple(p for p in text.split("\n") if p)


def _tags(conn: sa.Connection, of: Sequence[str] = ()) -> dict[str, tuple[str, ...]]:
    """Each call's tags (of the calls `of`, or all)."""
    tag_map: dict[str, list[str]] = {}
    q = sa.select(call_tags.c.call_id, call_tags.c.tag).order_by(call_tags.c.tag)
    if of:
        q = q.where(call_tags.c.call_id.in_(of))
    for call_id, tag in conn.execute(q).all():
        tag_map.setdefault(call_id, []).append(tag)
    return {k: tuple(v) for k, v in tag_map.items()}


def _change(r: Any) -> Change:
    return Change(r.entity, r.entity_id, r.call_id, ChangeKind(r.change), r.field, r.old, r.new,
                  from_utc_naive(r.detected_at), r.source, r.announced, r.source_url, r.id)


def revision_map(store: Store) -> dict[str, Revision]:
    """Every occurrence's sequence and last-modified instant."""
    q = sa.select(occurrences.c.id, occurrences.c.sequence, occurrences.c.last_modified)
    with store.read() as conn:
        return {r.id: Revision(r.sequence, from_utc_naive(r.last_modified))
                for r in conn.execute(q)}


def changes_since(store: Store, since: datetime | None, call_ids: Sequence[str] = (),
                  strictly_after: bool = False, after_id: int | None = None,
                  upto_id: int | None = None) -> list[Change]:
    """History lines recorded at or after `since` (or strictly after), and with a revision id
    in (after_id, upto_id] when given, in the order they were recorded."""
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
        return [_change(r) for r in conn.execute(q)]


def history(store: Store, since: date | datetime | None = None,
            call_ids: Sequence[str] = ()) -> list[Change]:
    """Every history line known on or after `since` (the day it was announced, else recorded),
    oldest first."""
    q = sa.select(revisions).order_by(revisions.c.id)
    if call_ids:
        q = q.where(revisions.c.call_id.in_(call_ids))
    with store.read() as conn:
        found = [_change(r) for r in conn.execute(q)]
    if since is not None:
        day = since.date() if isinstance(since, datetime) else since
        found = [c for c in found if c.known_on is not None and c.known_on >= day]
    return sorted(found, key=lambda c: (c.known_on or date.min, c.id or 0))


def call_names(store: Store, name: str = "") -> list[tuple[str, list[str]]]:
    """Every stored call's id and official identifiers; with `name`, only the call of that id
    when there is one (what resolving a name needs first)."""
    q = sa.select(calls.c.id, calls.c.identifiers).order_by(calls.c.id)
    with store.read() as conn:
        if name:
            found = [(r.id, r.identifiers.split()) for r in conn.execute(
                q.where(sa.func.lower(calls.c.id) == name.strip().lower()))]
            if found:
                return found
        return [(r.id, r.identifiers.split()) for r in conn.execute(q)]


def last_sync(store: Store) -> tuple[datetime, str] | None:
    """When the last writing sync finished, and its seed fingerprint."""
    with store.read() as conn:
        row = conn.execute(sa.select(sync_runs).order_by(sync_runs.c.id.desc()).limit(1)).first()
    return None if row is None else (from_utc_naive(row.finished_at), str(row.fingerprint))


def orphaned(store: Store) -> list[str]:
    """The calls kept although their rule file is gone (a sync with --prune withdraws them)."""
    with store.read() as conn:
        return [r.id for r in conn.execute(sa.select(calls.c.id).where(
            calls.c.orphaned == sa.true()).order_by(calls.c.id))]


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
    budget_approximate: bool = False
    orphaned: bool = False

    def budget_label(self) -> str:
        """'about EUR 1,000,000,000 (remaining EUR 0)' or ''."""
        if self.budget_amount is None:
            return ""
        text = money(self.budget_amount, self.budget_currency, self.budget_approximate)
        if self.budget_remaining is not None:
            text += f" (remaining {money(self.budget_remaining, self.budget_currency)})"
        return text


def stored_rules(store: Store) -> list[Rule]:
    """Every stored call, not withdrawn, as the Rule facts the store keeps."""
    with store.read() as conn:
        tags = _tags(conn)
        return [row_rule(r, tags.get(r.id, ())) for r in
                conn.execute(sa.select(calls).where(calls.c.withdrawn == sa.false())
                             .order_by(calls.c.id))]


def load_calls(store: Store) -> dict[str, CallRecord]:
    """Every stored call by id."""
    with store.read() as conn:
        tags = _tags(conn)
        return {r.id: call_record(r, tags.get(r.id, ()))
                for r in conn.execute(sa.select(calls).order_by(calls.c.id))}


def call_record(r: Any, tags: tuple[str, ...]) -> CallRecord:
    """A `calls` row as a CallRecord."""
    return CallRecord(r.id, r.type, r.title, r.url, r.funder, _lines(r.programmes), tags,
                      r.budget_amount, r.budget_currency, r.budget_remaining, r.withdrawn,
                      r.budget_approximate, r.orphaned)


def last_changes(store: Store) -> dict[str, Change]:
    """The latest change (other than 'added') of each occurrence, for a feed's DESCRIPTION."""
    q = (sa.select(revisions).where(revisions.c.entity == "occurrence")
         .where(revisions.c.change != "added").where(revisions.c.field != "moved_from")
         .order_by(revisions.c.id))
    with store.read() as conn:
        return {r.entity_id: _change(r) for r in conn.execute(q)}


def state_token(store: Store) -> str:
    """Changes whenever anything a feed shows changes (the last sync run's id)."""
    with store.read() as conn:
        row = conn.execute(sa.select(sa.func.max(sync_runs.c.id))).scalar()
    return str(row or 0)



def revision_mark(store: Store) -> int:
    """The newest revision id (0 for none): what a digest rendered now can know about."""
    with store.read() as conn:
        return int(conn.execute(sa.select(sa.func.max(revisions.c.id))).scalar() or 0)
