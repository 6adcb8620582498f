"""Subscribing and unsubscribing: typed values in (parsed by tracker.userinput), checked
against what the store knows, saved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

from tracker import store as db
from tracker.errors import NotFoundError, UsageError
from tracker.models import Every, Kind, Status, Subscription
from tracker.store import subscribers
from tracker.userinput import call_id


@dataclass(frozen=True)
class Changes:
    """What a subscribe command asks to change; None keeps the current value, an empty tuple
    clears a filter."""

    calls: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    kinds: tuple[Kind, ...] | None = None
    every: Every | None = None
    at: time | None = None
    timezone: str | None = None
    horizon_days: int | None = None
    alerts: tuple[int, ...] | None = None
    send_empty: bool | None = None


def subscribe(store: db.Store, email: str, now: datetime, wanted: Changes,
              default_zone: str = "Europe/Brussels") -> tuple[Subscription, bool, list[str]]:
    """Create a subscription or edit one (options not given keep their value). After an
    unsubscribe, subscribing starts afresh. Returns it, whether it is new, and warnings."""
    found = subscribers.get_subscription(store, email)
    old = found if found is not None and found.active else Subscription(email,
                                                                          timezone=default_zone)
    known = db.call_names(store)
    ids = tuple(sorted({call_id(known, c) for c in wanted.calls})) \
        if wanted.calls is not None else old.calls
    tags = wanted.tags if wanted.tags is not None else old.tags
    stored = db.load_calls(store)
    in_use = {t for c in stored.values() for t in c.tags}
    for t in tags:
        if t not in in_use:
            raise UsageError(f"--tag: no call has the tag '{t}'; tags in use: "
                             f"{', '.join(sorted(in_use)) or 'none'}")
    sub = Subscription(
        email, ids, tuple(tags), wanted.kinds if wanted.kinds is not None else old.kinds,
        wanted.every or old.every, wanted.at or old.at, wanted.timezone or old.timezone,
        wanted.horizon_days or old.horizon_days,
        wanted.alerts if wanted.alerts is not None else old.alerts,
        old.send_empty if wanted.send_empty is None else wanted.send_empty)
    warnings = _closed(store, ids, now)
    saved, created = subscribers.save_subscription(store, sub, now)
    return saved, created, warnings


def _closed(store: db.Store, ids: Sequence[str], now: datetime) -> list[str]:
    """A warning for each followed call with nothing left to come."""
    if not ids:
        return []
    upcoming = db.load_occurrences(store, db.Window(since=now, calls=tuple(ids)), now)
    alive = {o.call_id for o in upcoming if o.status is not Status.CANCELLED}
    return [f"{c} has no dates left to come (closed or withdrawn): you will only hear of "
            "changes to it" for c in ids if c not in alive]


def unsubscribe(store: db.Store, email: str, now: datetime) -> None:
    """Stop every mail to an address."""
    if not subscribers.deactivate(store, email, now):
        raise NotFoundError(f"{email} is not subscribed.")
