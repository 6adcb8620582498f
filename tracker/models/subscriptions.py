"""Subscriptions: who gets which digest and alerts, when, in which zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from tracker.models.occurrences import Filter, Kind, Occurrence


class Every(StrEnum):
    """How often a subscriber gets a digest."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class OutboxState(StrEnum):
    """Where a queued message stands."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class Subscription:
    """Who gets which digest and alerts, when, in which zone."""

    email: str
    calls: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    kinds: tuple[Kind, ...] = ()
    every: Every = Every.WEEKLY
    at: time = time(8, 0)
    timezone: str = "Europe/Brussels"
    horizon_days: int = 60
    alerts: tuple[int, ...] = ()  # days before a cut-off
    send_empty: bool = False
    active: bool = True
    id: int | None = None
    created_at: datetime | None = None
    last_digest_at: datetime | None = None
    last_period: str = ""
    last_revision_id: int | None = None  # the newest change the last digest could tell

    @property
    def zone(self) -> ZoneInfo:
        """The subscriber's zone."""
        return ZoneInfo(self.timezone)

    @property
    def filter(self) -> Filter:
        """What this subscription follows."""
        return Filter(self.calls, self.tags, self.kinds)

    def follows(self, o: Occurrence) -> bool:
        """True when the occurrence matches this subscription's filters (tags: any)."""
        return self.filter.matches(o)
