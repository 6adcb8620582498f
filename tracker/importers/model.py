"""Typed values every importer produces: one imported call, its deadlines, budget, and reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum


class TimeBasis(StrEnum):
    """Where a deadline's hour comes from."""

    STATED = "stated"  # the record gives the hour
    CONVENTION = "convention"  # the portal's documented convention (F&T: 17:00 Brussels)
    ASSUMED = "assumed"  # not in the data: a configured default


@dataclass(frozen=True, slots=True)
class Deadline:
    """One cut-off of an imported call; `at` is set only when the record states the hour."""

    key: str
    day: date
    at: time | None = None
    label: str = ""
    tentative: bool = False


@dataclass(frozen=True, slots=True)
class Expected:
    """An estimated event of a forecast (award, posting) at its precision: a day or a year."""

    key: str
    title: str
    when: date | str  # a date, or a fuzzy "2027" / "2027-Q1" when only that is known
    tentative: bool = True


@dataclass(frozen=True, slots=True)
class BudgetLine:
    """One share of a call's budget (a year, a type of action), amount in the call's currency."""

    name: str
    amount: int | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class ImportedCall:
    """One call or topic as read from a portal record, ready to be written as a rule."""

    source: str  # the importer: "ftportal" or "grantsgov"
    identifier: str  # the portal's own id (topic id, opportunity number)
    rule_id: str
    title: str
    url: str
    retrieved: datetime
    source_title: str
    identifiers: tuple[str, ...] = ()
    funder: str = ""
    programmes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    summary: str = ""
    announced: date | None = None
    opens: date | None = None
    deadlines: tuple[Deadline, ...] = ()
    submission: str = "single"  # "single" | "two-stage" | "multiple-cutoff"
    timezone: str = "Europe/Brussels"
    deadline_time: time = time(17, 0)
    time_basis: TimeBasis = TimeBasis.CONVENTION
    currency: str = "EUR"
    budget: int | None = None
    budget_parts: tuple[BudgetLine, ...] = ()
    budget_note: str = ""
    expected: tuple[Expected, ...] = ()  # forecasts: estimated events, as milestones
    call_id: str = ""  # the call that groups this topic
    status_hint: str = ""  # the portal's own status word: a hint, not the truth

    def closes(self) -> date | None:
        """The last deadline day, or None for a call without dates."""
        return max((d.day for d in self.deadlines), default=None)

    def status(self, today: date) -> str:
        """'forthcoming', 'open' or 'closed', computed from the dates (never from the portal)."""
        last = self.closes()
        if last is not None and last < today:
            return "closed"
        if self.opens is not None and self.opens > today:
            return "forthcoming"
        return "open"


@dataclass(frozen=True)
class Skipped:
    """A record that could not be imported: which one and why."""

    identifier: str
    reason: str

    def __str__(self) -> str:
        return f"{self.identifier}: {self.reason}"


@dataclass
class ParseResult:
    """What reading one source gave: the calls, the skipped records, and warnings."""

    calls: list[ImportedCall] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[Skipped] = field(default_factory=list)
    duplicates: int = 0
    passed_over: set[str] = field(default_factory=set)  # rule ids left out by a filter early


    def extend(self, other: ParseResult) -> None:
        """Add another result's calls, skips and warnings to this one."""
        self.calls.extend(other.calls)
        self.skipped.extend(other.skipped)
        self.warnings.extend(other.warnings)
        self.duplicates += other.duplicates
        self.passed_over |= other.passed_over


@dataclass(frozen=True)
class ImportFilter:
    """What a national contact point serves: programmes, keywords, statuses, call ids."""

    programmes: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    call_ids: tuple[str, ...] = ()
    agencies: tuple[str, ...] = ()

    def matches(self, call: ImportedCall, today: date) -> bool:
        """True when the call passes every filter given (the status computed from the dates)."""
        low = [p.lower() for p in call.programmes]
        if self.programmes and not any(f.lower() in p for f in self.programmes for p in low):
            return False
        text = " ".join([call.title, call.identifier, call.summary, *call.keywords,
                         *call.tags]).lower()
        if self.keywords and not any(k.lower() in text for k in self.keywords):
            return False
        if self.statuses and call.status(today) not in self.statuses:
            return False
        ids = {i.lower() for i in (call.call_id, *call.identifiers)}
        if self.call_ids and not any(c.lower() in ids for c in self.call_ids):
            return False
        return not self.agencies or any(a.lower() in call.funder.lower() or
                                        a.lower() in call.tags for a in self.agencies)

    def pairs(self) -> list[tuple[str, tuple[str, ...]]]:
        """The filter as (name, values) pairs, for naming an import's scope."""
        return [("programme", self.programmes), ("keyword", self.keywords),
                ("status", self.statuses), ("call", self.call_ids), ("agency", self.agencies)]
