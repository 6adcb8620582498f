"""Web subscriptions waiting for their confirmation click (double opt-in), the counters that
rate-limit the form, and looking up the subscriber a mail's link belongs to.

Tokens are stored only as their SHA-256; a request is used once and expires. An address that
was never subscribed gets an inactive subscriber row, so its confirmation mail can go through
the outbox like any other; it receives nothing else until the click.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from tracker.store.engine import Store
from tracker.store.schema import (
    from_utc_naive,
    pending_subscriptions,
    subscribers,
    unsubscribe_tokens,
    utc_naive,
    web_attempts,
)
from tracker.store.subscribers import token_hash

CONFIRM_WITHIN = timedelta(days=2)
KEEP_ATTEMPTS = timedelta(days=2)
KEEP_USED = timedelta(days=7)


@dataclass(frozen=True)
class Request:
    """A subscription asked for on the web, not yet confirmed."""

    id: int
    email: str
    wanted: dict[str, object]
    created_at: datetime
    expires_at: datetime


def bucket(kind: str, value: str) -> str:
    """A rate-limit bucket that does not store the address itself: 'addr:<sha256>'."""
    return f"{kind}:{hashlib.sha256(value.lower().encode()).hexdigest()[:40]}"


def allow(store: Store, buckets: dict[str, tuple[int, timedelta]], now: datetime) -> list[str]:
    """Count one attempt in every bucket that still has room; return the buckets that are
    full (then nothing is counted). Old counters are dropped on the way."""
    stamp = utc_naive(now)
    full = []
    with store.write() as conn:
        conn.execute(web_attempts.delete()
                     .where(web_attempts.c.created_at < utc_naive(now - KEEP_ATTEMPTS)))
        for name, (limit, window) in buckets.items():
            used = conn.execute(sa.select(sa.func.count()).select_from(web_attempts)
                                .where(web_attempts.c.bucket == name)
                                .where(web_attempts.c.created_at > utc_naive(now - window))
                                ).scalar()
            if int(used or 0) >= limit:
                full.append(name)
        if not full:
            for name in buckets:
                conn.execute(web_attempts.insert().values(bucket=name, created_at=stamp))
    return full


def subscriber_id(store: Store, email: str, now: datetime) -> int:
    """The subscriber row of an address, made inactive (subscribed to nothing) if new."""
    stamp = utc_naive(now)
    with store.write() as conn:
        found = conn.execute(sa.select(subscribers.c.id)
                             .where(subscribers.c.email == email)).scalar()
        if found is None:
            conn.execute(subscribers.insert().values(email=email, active=False,
                                                     created_at=stamp, updated_at=stamp))
            found = conn.execute(sa.select(subscribers.c.id)
                                 .where(subscribers.c.email == email)).scalar()
    assert found is not None
    return int(found)


def create(store: Store, email: str, wanted: dict[str, object], now: datetime) \
        -> tuple[int, str]:
    """Record a request; returns its id and the token for the confirmation link."""
    token = secrets.token_urlsafe(24)
    with store.write() as conn:
        conn.execute(pending_subscriptions.delete()  # used or expired a while ago
                     .where(pending_subscriptions.c.expires_at < utc_naive(now - KEEP_USED)))
        result = conn.execute(pending_subscriptions.insert().values(
            token_hash=token_hash(token), email=email, wanted=json.dumps(wanted),
            created_at=utc_naive(now), expires_at=utc_naive(now + CONFIRM_WITHIN)))
        key = result.inserted_primary_key
    assert key is not None
    return int(key[0]), token


def _request(r: sa.Row[tuple[object, ...]]) -> Request:
    m = r._mapping
    return Request(m["id"], m["email"], json.loads(m["wanted"]),
                   from_utc_naive(m["created_at"]), from_utc_naive(m["expires_at"]))


def find(store: Store, token: str, now: datetime) -> Request | None:
    """The open (unused, unexpired) request of a token; reading changes nothing."""
    q = (sa.select(pending_subscriptions)
         .where(pending_subscriptions.c.token_hash == token_hash(token))
         .where(pending_subscriptions.c.confirmed_at.is_(None))
         .where(pending_subscriptions.c.expires_at > utc_naive(now)))
    with store.read() as conn:
        row = conn.execute(q).first()
    return None if row is None else _request(row)


def take(store: Store, token: str, now: datetime) -> Request | None:
    """Use a request once: the first caller gets it, later ones (and expired tokens) None."""
    found = find(store, token, now)
    if found is None:
        return None
    with store.write() as conn:
        done = conn.execute(pending_subscriptions.update()
                            .where(pending_subscriptions.c.id == found.id)
                            .where(pending_subscriptions.c.confirmed_at.is_(None))
                            .values(confirmed_at=utc_naive(now))).rowcount
    return found if done else None


def email_of_link(store: Store, token: str) -> str | None:
    """The active subscriber whose mail carried this link token (None if unknown or used)."""
    q = (sa.select(subscribers.c.email)
         .join(unsubscribe_tokens, unsubscribe_tokens.c.subscriber_id == subscribers.c.id)
         .where(unsubscribe_tokens.c.token_hash == token_hash(token))
         .where(subscribers.c.active == sa.true()))
    with store.read() as conn:
        found = conn.execute(q).scalar()
    return None if found is None else str(found)
