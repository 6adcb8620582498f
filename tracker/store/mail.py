"""Subscribers, unsubscribe tokens (stored hashed) and the outbox: queue once, claim, settle."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tracker.errors import NotFoundError
from tracker.models import Every, Subscription
from tracker.store.engine import Store
from tracker.store.schema import (
    from_utc_naive,
    outbox,
    subscribers,
    unsubscribe_tokens,
    utc_naive,
)

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else from_utc_naive(value)


def _subscription(r: sa.Row[tuple[object, ...]]) -> Subscription:
    m = r._mapping
    hh, mm = (int(x) for x in str(m["at_time"]).split(":"))
    return Subscription(
        email=m["email"], calls=tuple(m["calls"].split()), tags=tuple(m["tags"].split()),
        kinds=tuple(m["kinds"].split()), every=Every(m["every"]), at=time(hh, mm),
        timezone=m["timezone"], horizon_days=m["horizon_days"],
        alerts=tuple(int(x) for x in m["alerts"].split()), send_empty=m["send_empty"],
        active=m["active"], id=m["id"], created_at=_aware(m["created_at"]),
        last_digest_at=_aware(m["last_digest_at"]), last_period=m["last_period"],
        last_revision_id=m["last_revision_id"],
    )


def _values(sub: Subscription) -> dict[str, object]:
    return {
        "email": sub.email, "calls": " ".join(sub.calls), "tags": " ".join(sub.tags),
        "kinds": " ".join(sub.kinds), "every": sub.every.value,
        "at_time": sub.at.strftime("%H:%M"), "timezone": sub.timezone,
        "horizon_days": sub.horizon_days, "alerts": " ".join(str(a) for a in sub.alerts),
        "send_empty": sub.send_empty,
    }


def save_subscription(store: Store, sub: Subscription, now: datetime) -> tuple[Subscription, bool]:
    """Create or update (by email) a subscription; returns it and whether it is new."""
    stamp = utc_naive(now)
    with store.write() as conn:
        row = conn.execute(sa.select(subscribers.c.id)
                           .where(subscribers.c.email == sub.email)).first()
        if row is None:
            conn.execute(subscribers.insert().values(
                **_values(sub), active=True, created_at=stamp, updated_at=stamp))
            created = True
        else:
            conn.execute(subscribers.update().where(subscribers.c.id == row.id).values(
                **_values(sub), active=True, updated_at=stamp, unsubscribed_at=None))
            created = False
    found = get_subscription(store, sub.email)
    assert found is not None
    return found, created


def get_subscription(store: Store, email: str) -> Subscription | None:
    """The subscription of an address (active or not)."""
    with store.read() as conn:
        row = conn.execute(sa.select(subscribers).where(subscribers.c.email == email)).first()
    return None if row is None else _subscription(row)


def list_subscriptions(store: Store, active_only: bool = False) -> list[Subscription]:
    """Every subscription, by address."""
    q = sa.select(subscribers).order_by(subscribers.c.email)
    if active_only:
        q = q.where(subscribers.c.active == sa.true())
    with store.read() as conn:
        return [_subscription(r) for r in conn.execute(q)]


def deactivate(store: Store, email: str, now: datetime) -> bool:
    """Unsubscribe an address; False when it was not subscribed."""
    with store.write() as conn:
        result = conn.execute(subscribers.update()
                              .where(subscribers.c.email == email)
                              .where(subscribers.c.active == sa.true())
                              .values(active=False, unsubscribed_at=utc_naive(now),
                                      updated_at=utc_naive(now)))
        return bool(result.rowcount)


def token_hash(token: str) -> str:
    """Tokens are stored only as their SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def unsubscribe_by_token(store: Store, token: str, now: datetime) -> str:
    """Unsubscribe whoever the token belongs to; returns the address."""
    with store.write() as conn:
        row = conn.execute(
            sa.select(subscribers.c.id, subscribers.c.email)
            .join(unsubscribe_tokens, unsubscribe_tokens.c.subscriber_id == subscribers.c.id)
            .where(unsubscribe_tokens.c.token_hash == token_hash(token))).first()
        if row is None:
            raise NotFoundError("This unsubscribe link is not valid.")
        conn.execute(subscribers.update().where(subscribers.c.id == row.id).values(
            active=False, unsubscribed_at=utc_naive(now), updated_at=utc_naive(now)))
        return str(row.email)


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


def new_token() -> str:
    """An unguessable unsubscribe token."""
    return secrets.token_urlsafe(24)


def outbox_keys(store: Store, subscriber_id: int, prefix: str = "") -> set[str]:
    """Keys already queued for a subscriber."""
    q = sa.select(outbox.c.key).where(outbox.c.subscriber_id == subscriber_id)
    if prefix:
        q = q.where(outbox.c.key.startswith(prefix))
    with store.read() as conn:
        return {r.key for r in conn.execute(q)}


def enqueue(store: Store, item: Queued, now: datetime) -> bool:
    """Insert one outbox row (and its token, and the digest bookkeeping) atomically.

    The unique (subscriber, key) constraint makes a second attempt a no-op: False.
    """
    stamp = utc_naive(now)
    try:
        with store.write() as conn:
            conn.execute(outbox.insert().values(
                subscriber_id=item.subscriber_id, key=item.key, kind=item.kind, state=PENDING,
                attempts=0, next_attempt_at=stamp, last_error="", message_id=item.message_id,
                recipient=item.recipient, subject=item.subject, payload=item.payload,
                due_at=utc_naive(item.due_at), created_at=stamp))
            conn.execute(unsubscribe_tokens.insert().values(
                token_hash=token_hash(item.token), subscriber_id=item.subscriber_id,
                created_at=stamp))
            if item.kind == "digest":
                conn.execute(subscribers.update()
                             .where(subscribers.c.id == item.subscriber_id)
                             .values(last_digest_at=stamp, last_period=item.period,
                                     last_revision_id=item.revision_mark))
    except IntegrityError:
        return False
    return True


@dataclass(frozen=True)
class OutboxRow:
    """One queued message."""

    id: int
    subscriber_id: int
    key: str
    kind: str
    state: str
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


def _row(r: sa.Row[tuple[object, ...]]) -> OutboxRow:
    m = r._mapping
    return OutboxRow(m["id"], m["subscriber_id"], m["key"], m["kind"], m["state"],
                     m["attempts"], from_utc_naive(m["next_attempt_at"]), m["last_error"],
                     m["message_id"], m["recipient"], m["subject"], bytes(m["payload"]),
                     from_utc_naive(m["due_at"]), from_utc_naive(m["created_at"]),
                     _aware(m["sent_at"]))


def mark_period(store: Store, subscriber_id: int, key: str) -> None:
    """A period with nothing to say: done, with no mail; its changes wait for the next one."""
    with store.write() as conn:
        conn.execute(subscribers.update().where(subscribers.c.id == subscriber_id)
                     .values(last_period=key))


def release_stale(store: Store) -> int:
    """Put rows left 'sending' by a crash back to 'pending' (call only under the sender lock)."""
    with store.write() as conn:
        return int(conn.execute(outbox.update().where(outbox.c.state == SENDING)
                                .values(state=PENDING, claimed_at=None)).rowcount)


def drop_unsubscribed(store: Store) -> int:
    """Unsent mail of addresses that unsubscribed after it was queued: never send it."""
    gone = sa.select(subscribers.c.id).where(subscribers.c.active == sa.false())
    with store.write() as conn:
        return int(conn.execute(outbox.update().where(outbox.c.state == PENDING)
                                .where(outbox.c.subscriber_id.in_(gone))
                                .values(state=FAILED, claimed_at=None,
                                        last_error="not sent: the address unsubscribed"))
                   .rowcount)


def due_messages(store: Store, now: datetime, limit: int = 500) -> list[OutboxRow]:
    """Pending rows whose next attempt time has come, oldest first."""
    q = (sa.select(outbox).where(outbox.c.state == PENDING)
         .where(outbox.c.next_attempt_at <= utc_naive(now))
         .order_by(outbox.c.id).limit(limit))
    with store.read() as conn:
        return [_row(r) for r in conn.execute(q)]


def claim(store: Store, row_id: int, now: datetime) -> bool:
    """pending -> sending, for exactly one claimer."""
    with store.write() as conn:
        result = conn.execute(outbox.update().where(outbox.c.id == row_id)
                              .where(outbox.c.state == PENDING)
                              .values(state=SENDING, claimed_at=utc_naive(now),
                                      attempts=outbox.c.attempts + 1))
        return bool(result.rowcount)


def settle(store: Store, row_id: int, state: str, now: datetime, error: str = "",
           next_attempt: datetime | None = None) -> None:
    """Record the outcome of an attempt: sent, failed, or pending again at `next_attempt`."""
    values: dict[str, object] = {"state": state, "last_error": error[:2000], "claimed_at": None}
    if state == SENT:
        values["sent_at"] = utc_naive(now)
    if next_attempt is not None:
        values["next_attempt_at"] = utc_naive(next_attempt)
    with store.write() as conn:
        conn.execute(outbox.update().where(outbox.c.id == row_id).values(**values))


def postpone(store: Store, row_ids: Sequence[int], error: str, when: datetime) -> None:
    """Pending rows that could not even be tried (server down): count the attempt, retry later."""
    if not row_ids:
        return
    with store.write() as conn:
        conn.execute(outbox.update().where(outbox.c.id.in_(row_ids))
                     .where(outbox.c.state == PENDING)
                     .values(attempts=outbox.c.attempts + 1, last_error=error[:2000],
                             next_attempt_at=utc_naive(when)))


def list_outbox(store: Store, states: Sequence[str] = (), limit: int = 200) -> list[OutboxRow]:
    """Outbox rows, newest first."""
    q = sa.select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if states:
        q = q.where(outbox.c.state.in_(states))
    with store.read() as conn:
        return [_row(r) for r in conn.execute(q)]


def outbox_counts(store: Store) -> dict[str, int]:
    """How many rows in each state."""
    q = sa.select(outbox.c.state, sa.func.count()).group_by(outbox.c.state)
    with store.read() as conn:
        found = {str(s): int(n) for s, n in conn.execute(q)}
    return {s: found.get(s, 0) for s in (PENDING, SENDING, SENT, FAILED)}


def requeue(store: Store, row_ids: Sequence[int], now: datetime) -> int:
    """Failed rows back to pending, to be sent at the next drain (same Message-ID)."""
    q = outbox.update().where(outbox.c.state == FAILED)
    if row_ids:
        q = q.where(outbox.c.id.in_(list(row_ids)))
    with store.write() as conn:
        return int(conn.execute(q.values(state=PENDING, next_attempt_at=utc_naive(now),
                                         last_error="")).rowcount)
