"""The draft rule: each fact extracted from an announcement, with its quote and confidence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Generic, TypeVar

from tracker.models import FuzzyDate

T = TypeVar("T")


@dataclass(frozen=True)
class Fact(Generic[T]):
    """A value read from the text, the words it came from, and how sure the reading is."""

    value: T
    quote: str
    confidence: str = ""  # "" when the text states it; "medium" / "low" for a judgement
    note: str = ""


@dataclass(frozen=True)
class Money:
    """An amount with its currency; `share` is "funder" or "total" when the text says so."""

    amount: int
    currency: str
    approximate: bool = False
    share: str = ""


@dataclass(frozen=True)
class Cutoff:
    """A cut-off date; `n` is its rank when the text gives one ("the second cut-off")."""

    when: Fact[date]
    n: int | None = None


@dataclass(frozen=True)
class MilestoneDraft:
    """A dated policy milestone mentioned alongside the call."""

    key: str
    title: str
    when: Fact[FuzzyDate]
    tentative: bool = False


@dataclass(frozen=True)
class Draft:
    """Everything extracted from one call of an announcement; None where nothing was found."""

    id: str
    type: str
    lang: str
    published: date | None
    source_title: str
    source_url: str = ""
    title: Fact[str] | None = None
    identifiers: tuple[Fact[str], ...] = ()
    funder: Fact[str] | None = None
    opens: Fact[date] | None = None
    closes: Fact[date] | None = None
    deadline_time: Fact[time] | None = None
    timezone: Fact[str] | None = None
    first: Fact[date] | None = None
    every: Fact[str] | None = None
    until: Fact[date] | None = None
    condition: Fact[str] | None = None
    cutoffs: tuple[Cutoff, ...] = ()
    budget: Fact[Money] | None = None
    parts: tuple[Fact[Money], ...] = ()
    milestones: tuple[MilestoneDraft, ...] = ()
    unplaced: tuple[Fact[str], ...] = ()  # dates found but not usable: value = role, note = why
    other_calls: tuple[str, ...] = ()
