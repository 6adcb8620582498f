"""Subscribers and their unsubscribe tokens (stored hashed; a token dies once used, and all of
an address's tokens die when it unsubscribes or subscribes again)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, time

import sqlalchemy as sa

from tracker.errors import NotFoundError
from tracker.models import Every, Kind, Subscription
from tracker.store.engine import Store
from tracker.store.schema import from_utc_naive, subscribers, unsubscribe_tokens, utc_naive


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else from_utc_naive(value)


def _subscription(r: sa.Row[tuple[object, ...]]) -> Subscription:
    m = r._mapping
    hh, mm = (int(x) for x in str(m["at_time"]).split(":"))
    return Subscription(
        email=m["email"], calls=tuple(m["calls"].split()), tags=tuple(m["tags"].split()),
        kinds=tuple(Kind(k) for k in m["kinds"].split()), every=Every(m["every"]),
        at=time(hh, mm),
        timezone=m["timezone"], horizon_days=m["horizon_days"],
        alerts=tuple(int(x) for x in m["alerts"].split()), send_empty=m["send_empty"],
        active=m["active"], id=m["id"], created_at=_aware(m["created_at"]),
        last_digest_at=_aware(m["last_digest_at"]), last_period=m["last_period"],
        last_revision_id=m["last_revision_id"],
    )


def _values(sub: Subscription) -> dict[str, object]:
    return {
        "email": sub.email, "calls": " ".join(sub.calls), "tags": " ".join(sub.tags),
        "kinds": " ".join(k.value for k in sub.kinds), "every": sub.every.value,
        "at_time": sub.at.strftime("%H:%M"), "timezone": sub.timezone,
        "horizon_days": sub.horizon_days, "alerts": " ".join(str(a) for a in sub.alerts),
        "send_empty": sub.send_empty,
    }


def save_subscription(store: Store, sub: Subscription, now: datetime) -> tuple[Subscription, bool]:
    """Create or update (by email) a subscription; returns it and whether it is new."""
    stamp = utc_naive(now)
    with store.write() as conn:
        row = conn.execute(sa.select(subscribers.c.id, subscribers.c.active)
                           .where(subscribers.c.email == sub.email)).first()
        if row is None:
            conn.execute(subscribers.insert().values(
                **_values(sub), active=True, created_at=stamp, updated_at=stamp))
            created = True
        else:
            conn.execute(subscribers.update().where(subscribers.c.id == row.id).values(
                **_values(sub), active=True, updated_at=stamp, unsubscribed_at=None))
            if not row.active:  # subscribing again: links in mail sent before stop working
                conn.execute(unsubscribe_tokens.delete()
                             .where(unsubscribe_tokens.c.subscriber_id == row.id))
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
        ids = sa.select(subscribers.c.id).where(subscribers.c.email == email)
        conn.execute(unsubscribe_tokens.delete()
                     .where(unsubscribe_tokens.c.subscriber_id.in_(ids)))
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
        conn.execute(unsubscribe_tokens.delete()
                     .where(unsubscribe_tokens.c.subscriber_id == row.id))
        return str(row.email)




def new_token() -> str:
    """An unguessable unsubscribe token."""
    return secrets.token_urlsafe(24)
