"""Occurrences (the dated things rules expand into), filters over them, and their history."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from tracker.models.rules import Evidence, FuzzyDate, Precision, TimeBasis


class Kind(StrEnum):
    """What an occurrence is."""

    OPENING = "opening"
    CUTOFF = "cutoff"
    CLOSING = "closing"
    MILESTONE = "milestone"


class Status(StrEnum):
    """Where an occurrence stands on a given day."""

    CONFIRMED = "confirmed"
    TENTATIVE = "tentative"
    MOVED = "moved"
    CANCELLED = "cancelled"
    PASSED = "passed"
    OVERDUE = "overdue"  # an expected milestone whose window passed, neither confirmed nor dropped


class ChangeKind(StrEnum):
    """What a line of history says happened."""

    BASELINE = "baseline"  # the first sync of a store: everything known so far
    ADDED = "added"
    MOVED = "moved"
    CANCELLED = "cancelled"
    CONFIRMED = "confirmed"
    CHANGED = "changed"
    BUDGET = "budget"
    WITHDRAWN = "withdrawn"
    RESTORED = "restored"
    MERGED = "merged"  # a closing that a cut-off on the same day now stands for


def moment_label(value: datetime) -> str:
    """'2025-02-04 17:00 CET': the one way an instant is written for people."""
    return value.strftime("%Y-%m-%d %H:%M %Z")


@dataclass(frozen=True)
class Occurrence:
    """One dated thing: an opening, a cut-off, a closing or a milestone, as of a day."""

    id: str
    call_id: str
    call_title: str
    kind: Kind
    title: str
    start: datetime | date  # aware datetime when timed, date when all-day
    timezone: str
    status: Status
    precision: Precision
    tentative: bool = False
    end: date | None = None  # last possible day, for month/quarter/year precision
    original: datetime | date | None = None  # where a moved occurrence was first scheduled
    url: str = ""
    source: str = ""  # the title of the source the date is known from
    note: str = ""
    tags: tuple[str, ...] = ()
    source_url: str = ""
    evidence: Evidence = Evidence.UNSOURCED
    time_basis: TimeBasis | None = None  # for timed items: is the hour stated or assumed?
    announced: date | None = None  # when this date became known
    programmes: tuple[str, ...] = ()

    @property
    def standing(self) -> Status:
        """The status without the passage of time: what a feed or the store records."""
        if self.status not in (Status.PASSED, Status.OVERDUE):
            return self.status
        if self.original is not None:
            return Status.MOVED
        return Status.TENTATIVE if self.tentative else Status.CONFIRMED

    @property
    def official(self) -> bool:
        """Known from the funder's own text (what CONFIRMED in a feed means)."""
        return self.evidence is Evidence.OFFICIAL and not self.tentative

    @property
    def all_day(self) -> bool:
        """True for date-only occurrences (milestones)."""
        return not isinstance(self.start, datetime)

    @property
    def instant(self) -> datetime:
        """A sortable aware instant: timed start, or midnight in the call's zone."""
        if isinstance(self.start, datetime):
            return self.start
        return datetime.combine(self.start, time(0), ZoneInfo(self.timezone))

    @property
    def last_day(self) -> date:
        """The last local day this occurrence may fall on."""
        if self.end is not None:
            return self.end
        if isinstance(self.start, datetime):
            return self.start.date()
        return self.start

    def when_label(self) -> str:
        """The date as a person should read it, in the call's zone ('Q1 2026' stays that)."""
        if isinstance(self.start, datetime):
            return moment_label(self.start)
        if self.precision is Precision.DAY:
            return self.start.isoformat()
        return FuzzyDate(self.start, self.precision).label()


def expected_overdue(kind: Kind, tentative: bool, cancelled: bool) -> bool:
    """Whether a passed item is overdue rather than simply past: an expected milestone."""
    return kind is Kind.MILESTONE and tentative and not cancelled


@dataclass(frozen=True)
class Filter:
    """Which calls, tags and kinds someone follows; empty means all. Tags match with OR."""

    calls: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    kinds: tuple[Kind, ...] = ()

    def matches(self, o: Occurrence) -> bool:
        """True when the occurrence passes every part of the filter."""
        return ((not self.calls or o.call_id in self.calls)
                and (not self.tags or not set(self.tags).isdisjoint(o.tags))
                and (not self.kinds or o.kind in self.kinds))

    def matches_call(self, call_id: str, tags: Iterable[str]) -> bool:
        """True when a call (as a whole, whatever the kind) passes the call and tag parts."""
        return ((not self.calls or call_id in self.calls)
                and (not self.tags or not set(self.tags).isdisjoint(tags)))

    @property
    def empty(self) -> bool:
        """True when the filter lets everything through."""
        return not (self.calls or self.tags or self.kinds)


@dataclass(frozen=True)
class Revision:
    """What the store knows of an occurrence's history: a feed's SEQUENCE and LAST-MODIFIED."""

    sequence: int
    modified: datetime


@dataclass
class Change:
    """One line of history: what changed, from what to what, when it became known."""

    entity: str  # "call" | "occurrence"
    entity_id: str
    call_id: str
    change: ChangeKind
    field: str = ""
    old: str = ""
    new: str = ""
    detected_at: datetime | None = None
    source: str = ""  # title of the source that reported it
    announced: date | None = None  # the day the world learnt it (rule history), else None
    source_url: str = ""
    id: int | None = None

    @property
    def known_on(self) -> date | None:
        """The day this change became known: announced, or else the day it was detected."""
        if self.announced is not None:
            return self.announced
        return self.detected_at.date() if self.detected_at else None
