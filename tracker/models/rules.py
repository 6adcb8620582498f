"""Call rules as parsed: the rule, its cut-offs, budget, amendments, milestones, sources. No I/O."""

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



class TimeBasis(StrEnum):
    """How a deadline's hour is known."""

    STATED = "stated"  # the source gives the hour
    CONVENTION = "convention"  # the funder's or portal's usual hour (EU: 17:00 Brussels)
    ASSUMED = "assumed"  # nobody said: the tracker's default


class Evidence(StrEnum):
    """How a date is known."""

    OFFICIAL = "official"  # the funder's own text
    REPORTED = "reported"  # secondary sources only
    DERIVED = "derived"  # from a recurrence, not confirmed by any source
    UNSOURCED = "unsourced"  # no source recorded


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
    retrieved: datetime | None = None

    @property
    def evidence(self) -> Evidence:
        """Official unless marked secondary."""
        return Evidence.REPORTED if self.secondary else Evidence.OFFICIAL


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
        return money(self.amount, self.currency, self.approximate)


def money(amount: int, currency: str, approximate: bool = False) -> str:
    """'EUR 35,000,000', 'about EUR 1,000,000,000': the one way amounts are written."""
    return f"{'about ' if approximate else ''}{currency} {amount:,}"


@dataclass(frozen=True)
class CutoffDate:
    """One explicitly listed cut-off; `key` keeps its id stable if the date is edited."""

    when: date | datetime
    key: str = ""
    label: str = ""
    tentative: bool = False
    source: str = ""  # a key of [sources] or a URL: how this date is known


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
    announced: date | None = None  # when the call was first made public
    time_basis: TimeBasis = TimeBasis.STATED
    withdrawn: bool = False  # gone from its portal: its dates stand cancelled

    @property
    def zone(self) -> ZoneInfo:
        """The call's own time zone."""
        return ZoneInfo(self.timezone)

    def cite(self, ref: str) -> Source | None:
        """The source a reference names: a key of [sources], or a bare URL."""
        if not ref:
            return None
        if ref in self.sources:
            return self.sources[ref]
        return Source(ref, ref, ref) if ref.startswith(("http://", "https://")) else None

    def matches(self, name: str) -> bool:
        """True when `name` is this rule's id or one of its official identifiers."""
        low = name.lower()
        return low == self.id.lower() or low in (i.lower() for i in self.identifiers)


