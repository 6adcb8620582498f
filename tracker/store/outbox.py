"""The outbox: each message queued once per (subscriber, period), claimed by one sender
(tracker.store.claims), settled.

A sent message's body is not kept (it held a working unsubscribe link); its subject and
Message-ID stay as the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tracker.models import OutboxState
from tracker.store.engine import Store
from tracker.store.schema import (
    from_utc_naive,
    outbox,
    subscribers,
    told_alerts,
    unsubscribe_tokens,
    utc_naive,
)
from tracker.store.subscribers import token_hash

PENDING, SENDING, SENT, FAILED = (OutboxState.PENDING, OutboxState.SENDING, OutboxState.SENT,
                                  OutboxState.FAILED)


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else from_utc_naive(value)


@dataclass(frozen=True)
class Queued:
    """A message ready to be queued: rendered bytes, fixed Message-ID, its period key."""

    subscriber_id: int
    key: str
    kind: str  # "digest" | "alert"
    recipient: str
    subject: str
    message_id: str
    payload: bytes
    due_at: datetime
    token: str
    period: str = ""  # for a digest: the subscriber's new last_period
    revision_mark: int | None = None  # for a digest: the newest change it could tell
    also: tuple[str, ...] = ()  # for alerts told together: the keys of the others


def enqueue(store: Store, item: Queued, now: datetime) -> bool:
    """Insert one outbox row (and its token, and the digest bookkeeping) atomically.

    The unique (subscriber, key) constraint makes a second attempt a no-op: False.
    """
    return enqueue_many(store, [item], now)[0]


def enqueue_many(store: Store, items: Sequence[Queued], now: datetime) -> list[bool]:
    """Queue many messages in one transaction: each row, its token and its bookkeeping go in
    together or not at all. When one of them was already queued (the unique (subscriber, key)
    constraint: another run got there first), the batch is queued again one savepoint per
    message, and those already queued are skipped: False at their place."""
    if not items:
        return []
    try:
        with store.write() as conn:
            _insert(conn, items, utc_naive(now))
        return [True] * len(items)
    except IntegrityError:
        pass
    done: list[bool] = []
    with store.write() as conn:
        for item in items:
            try:
                with conn.begin_nested():
                    _insert(conn, [item], utc_naive(now))
                done.append(True)
            except IntegrityError:
                done.append(False)
    return done


def _insert(conn: sa.Connection, items: Sequence[Queued], stamp: datetime) -> None:
    """The rows of `items`, a statement per table (executemany)."""
    conn.execute(outbox.insert(), [{
        "subscriber_id": i.subscriber_id, "key": i.key, "kind": i.kind, "state": PENDING,
        "attempts": 0, "next_attempt_at": stamp, "last_error": "", "message_id": i.message_id,
        "recipient": i.recipient, "subject": i.subject, "payload": i.payload,
        "due_at": utc_naive(i.due_at), "created_at": stamp} for i in items])
    conn.execute(unsubscribe_tokens.insert(), [
        {"token_hash": token_hash(i.token), "subscriber_id": i.subscriber_id,
         "created_at": stamp} for i in items])
    told = [{"subscriber_id": i.subscriber_id, "key": k, "created_at": stamp}
            for i in items for k in i.also]
    if told:
        conn.execute(told_alerts.insert(), told)
    digests = [{"who": i.subscriber_id, "period": i.period, "mark": i.revision_mark}
               for i in items if i.kind == "digest"]
    if digests:
        conn.execute(subscribers.update().where(subscribers.c.id == sa.bindparam("who"))
                     .values(last_digest_at=stamp, last_period=sa.bindparam("period"),
                             last_revision_id=sa.bindparam("mark")), digests)


def alert_keys(store: Store) -> dict[int, set[str]]:
    """Every subscriber's queued alert keys, read once for a whole queue run."""
    q = sa.union_all(
        sa.select(outbox.c.subscriber_id, outbox.c.key).where(outbox.c.key.startswith("alert:")),
        sa.select(told_alerts.c.subscriber_id, told_alerts.c.key))
    out: dict[int, set[str]] = {}
    with store.read() as conn:
        for r in conn.execute(q):
            out.setdefault(r.subscriber_id, set()).add(r.key)
    return out


@dataclass(frozen=True)
class OutboxRow:
    """One queued message."""

    id: int
    subscriber_id: int
    key: str
    kind: str
    state: OutboxState
    attempts: int
    next_attempt_at: datetime
    last_error: str
    message_id: str
    recipient: str
    subject: str
    payload: bytes
    due_at: datetime
    created_at: datetime
    sent_at: datetime | None


def as_row(r: sa.Row[tuple[object, ...]]) -> OutboxRow:
    """A row as read from the outbox table."""
    m = r._mapping
    return OutboxRow(m["id"], m["subscriber_id"], m["key"], m["kind"], OutboxState(m["state"]),
                     m["attempts"], from_utc_naive(m["next_attempt_at"]), m["last_error"],
                     m["message_id"], m["recipient"], m["subject"], bytes(m["payload"]),
                     from_utc_naive(m["due_at"]), from_utc_naive(m["created_at"]),
                     _aware(m["sent_at"]))


def mark_periods(store: Store, periods: Sequence[tuple[int, str]]) -> None:
    """Periods with nothing to say, (subscriber id, period key): done, with no mail; their
    changes wait for the next one."""
    if not periods:
        return
    with store.write() as conn:
        conn.execute(subscribers.update().where(subscribers.c.id == sa.bindparam("who"))
                     .values(last_period=sa.bindparam("period")),
                     [{"who": who, "period": key} for who, key in periods])


def drop_unsubscribed(store: Store) -> int:
    """Unsent mail of addresses that unsubscribed after it was queued: never send it."""
    gone = sa.select(subscribers.c.id).where(subscribers.c.active == sa.false())
    with store.write() as conn:
        return int(conn.execute(outbox.update().where(outbox.c.state == PENDING)
                                .where(outbox.c.kind != "confirm")  # asks to subscribe
                                .where(outbox.c.subscriber_id.in_(gone))
                                .values(state=FAILED, claimed_at=None,
                                        last_error="not sent: the address unsubscribed"))
                   .rowcount)


def list_outbox(store: Store, states: Sequence[OutboxState] = (), limit: int = 200) \
        -> list[OutboxRow]:
    """Outbox rows, newest first."""
    q = sa.select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if states:
        q = q.where(outbox.c.state.in_(states))
    with store.read() as conn:
        return [as_row(r) for r in conn.execute(q)]


def outbox_counts(store: Store) -> dict[OutboxState, int]:
    """How many rows in each state."""
    q = sa.select(outbox.c.state, sa.func.count()).group_by(outbox.c.state)
    with store.read() as conn:
        found = {OutboxState(s): int(n) for s, n in conn.execute(q)}
    return {s: found.get(s, 0) for s in (PENDING, SENDING, SENT, FAILED)}


def requeue(store: Store, row_ids: Sequence[int], now: datetime) -> int:
    """Failed rows back to pending, to be sent at the next drain (same Message-ID)."""
    q = outbox.update().where(outbox.c.state == FAILED)
    if row_ids:
        q = q.where(outbox.c.id.in_(list(row_ids)))
    with store.write() as conn:
        return int(conn.execute(q.values(state=PENDING, next_attempt_at=utc_naive(now),
                                         last_error="")).rowcount)
