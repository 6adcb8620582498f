"""Typed domain objects: call rules as parsed, and the occurrences expanded from them. No I/O."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo


class Submission(StrEnum):
    """How a call takes proposals."""

    SINGLE = "single"
    TWO_STAGE = "two-stage"
    MULTIPLE_CUTOFF = "multiple-cutoff"


class RuleType(StrEnum):
    """A rule file describes a funding call, or a set of policy milestones."""

    CALL = "call"
    MILESTONES = "milestones"


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


class Precision(StrEnum):
    """How exactly a date is known: 'expected Q1 2026' is quarter precision."""

    MINUTE = "minute"
    DAY = "day"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class BusinessDays(StrEnum):
    """What happens to a cut-off that falls on a weekend or a listed holiday."""

    STAY = "stay"
    NEXT = "next"
    PREVIOUS = "previous"


class Action(StrEnum):
    """What an amendment does."""

    MOVE = "move"
    ADD = "add"
    CANCEL = "cancel"
    CONFIRM = "confirm"
    BUDGET = "budget"


@dataclass(frozen=True)
class FuzzyDate:
    """A date known to a day, a month, a quarter or a year."""

    first: date
    precision: Precision

    @property
    def last(self) -> date:
        """The last day the date may fall on."""
        y, m = self.first.year, self.first.month
        if self.precision is Precision.YEAR:
            return date(y, 12, 31)
        if self.precision is Precision.QUARTER:
            m += 2
        if self.precision in (Precision.MONTH, Precision.QUARTER):
            return date(y, m, calendar.monthrange(y, m)[1])
        return self.first

    def label(self) -> str:
        """Human form: '2026-03-04', 'March 2026', 'Q1 2026', '2026'."""
        f = self.first
        if self.precision is Precision.YEAR:
            return f"{f.year}"
        if self.precision is Precision.QUARTER:
            return f"Q{(f.month - 1) // 3 + 1} {f.year}"
        if self.precision is Precision.MONTH:
            return f"{calendar.month_name[f.month]} {f.year}"
        return f.isoformat()

    def key(self) -> str:
        """Compact, parseable form: '2026-03-04', '2026-03', '2026-Q1', '2026'."""
        f = self.first
        if self.precision is Precision.YEAR:
            return f"{f.year}"
        if self.precision is Precision.QUARTER:
            return f"{f.year}-Q{(f.month - 1) // 3 + 1}"
        if self.precision is Precision.MONTH:
            return f"{f.year}-{f.month:02d}"
        return f.isoformat()


@dataclass(frozen=True)
class Source:
    """Where a fact was read."""

    key: str
    title: str
    url: str = ""
    published: date | None = None
    secondary: bool = False


@dataclass(frozen=True)
class BudgetPart:
    """One share of a budget, e.g. the EU share from one programme."""

    name: str
    amount: int | None = None
    note: str = ""


@dataclass(frozen=True)
class Budget:
    """A call's budget: total, split by source, and what remains where known."""

    amount: int
    currency: str = "EUR"
    approximate: bool = False
    parts: tuple[BudgetPart, ...] = ()
    remaining: int | None = None
    note: str = ""
    source: str = ""

    def label(self) -> str:
        """'about EUR 1,000,000,000'."""
        about = "about " if self.approximate else ""
        return f"{about}{self.currency} {self.amount:,}"


@dataclass(frozen=True)
class CutoffDate:
    """One explicitly listed cut-off; `key` keeps its id stable if the date is edited."""

    when: date | datetime
    key: str = ""
    label: str = ""
    tentative: bool = False


@dataclass(frozen=True)
class Recurrence:
    """A first cut-off, then every N units, until a date or for a count."""

    first: date
    interval: int
    unit: str  # "days" | "weeks" | "months"
    until: date | None = None
    count: int | None = None


@dataclass(frozen=True)
class Cutoffs:
    """How a call's cut-offs are produced."""

    dates: tuple[CutoffDate, ...] = ()
    recurrence: Recurrence | None = None
    condition: str = ""
    confirmed: tuple[date, ...] = ()
    business_days: BusinessDays = BusinessDays.STAY
    holidays: tuple[date, ...] = ()


@dataclass(frozen=True)
class Amendment:
    """A change to the schedule, announced on a day, from a source; history is kept."""

    action: Action
    announced: date
    cutoff: date | None = None
    milestone: str = ""
    to: date | datetime | FuzzyDate | None = None
    tentative: bool = False
    amount: int | None = None
    remaining: int | None = None
    source: str = ""
    note: str = ""
    line: int | None = None
    closing: bool = False  # moves the call's closing date (a deadline extension)


@dataclass(frozen=True)
class Milestone:
    """A dated event around a call: entry into force, a plan, a selection."""

    key: str
    title: str
    when: FuzzyDate
    tentative: bool = False
    announced: date | None = None
    source: str = ""
    note: str = ""
    url: str = ""


@dataclass(frozen=True)
class Rule:
    """A parsed, validated call rule file."""

    id: str
    type: RuleType
    title: str
    path: str
    timezone: str = "Europe/Brussels"
    deadline_time: time = time(17, 0)
    identifiers: tuple[str, ...] = ()
    funder: str = ""
    programmes: tuple[str, ...] = ()
    url: str = ""
    tags: tuple[str, ...] = ()
    summary: str = ""
    opens: date | None = None
    closes: date | None = None
    submission: Submission | None = None
    cutoffs: Cutoffs = field(default_factory=Cutoffs)
    budget: Budget | None = None
    amendments: tuple[Amendment, ...] = ()
    milestones: tuple[Milestone, ...] = ()
    sources: dict[str, Source] = field(default_factory=dict)
    source: str = ""

    @property
    def zone(self) -> ZoneInfo:
        """The call's own time zone."""
        return ZoneInfo(self.timezone)

    def matches(self, name: str) -> bool:
        """True when `name` is this rule's id or one of its official identifiers."""
        low = name.lower()
        return low == self.id.lower() or low in (i.lower() for i in self.identifiers)


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
    source: str = ""
    note: str = ""
    tags: tuple[str, ...] = ()

    @property
    def standing(self) -> Status:
        """The status without the passage of time: what a feed or the store records."""
        if self.status is not Status.PASSED:
            return self.status
        if self.original is not None:
            return Status.MOVED
        return Status.TENTATIVE if self.tentative else Status.CONFIRMED

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
            return self.start.strftime("%Y-%m-%d %H:%M %Z")
        if self.precision is Precision.DAY:
            return self.start.isoformat()
        return FuzzyDate(self.start, self.precision).label()


@dataclass(frozen=True)
class Revision:
    """What the store knows of an occurrence's history: a feed's SEQUENCE and LAST-MODIFIED."""

    sequence: int
    modified: datetime


@dataclass
class Change:
    """One line of history: what changed, from what to what, when it was detected."""

    entity: str  # "call" | "occurrence"
    entity_id: str
    call_id: str
    change: str  # added | moved | cancelled | changed | withdrawn | restored | budget
    field: str = ""
    old: str = ""
    new: str = ""
    detected_at: datetime | None = None
    source: str = ""


class Every(StrEnum):
    """How often a subscriber gets a digest."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


@dataclass(frozen=True)
class Subscription:
    """Who gets which digest and alerts, when, in which zone."""

    email: str
    calls: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
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

    def follows(self, o: Occurrence) -> bool:
        """True when the occurrence matches this subscription's filters (tags: any)."""
        return ((not self.calls or o.call_id in self.calls)
                and (not self.tags or bool(set(self.tags) & set(o.tags)))
                and (not self.kinds or o.kind.value in self.kinds))
