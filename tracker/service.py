"""Use cases tying rules, expansion and the store together; they return values, never print."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from tracker.errors import NotFoundError, Problem, UsageError
from tracker.expand import amendments_known, budget_as_of, call_state, expand, expand_all
from tracker.models import Amendment, Budget, Kind, Occurrence, Rule, Status
from tracker.rules import check_files, load_rules


@dataclass(frozen=True)
class Query:
    """Which occurrences a reader wants."""

    now: datetime
    until: date | None = None
    calls: tuple[str, ...] = ()
    kinds: tuple[Kind, ...] = ()
    tags: tuple[str, ...] = ()
    include_past: bool = False


@dataclass(frozen=True)
class CallSummary:
    """One line of `tracker calls`."""

    rule: Rule
    state: str
    next_cutoff: Occurrence | None
    budget: Budget | None


@dataclass(frozen=True)
class CallDetail:
    """Everything `tracker show` prints about one call."""

    rule: Rule
    state: str
    occurrences: list[Occurrence]
    budget: Budget | None
    amendments: list[Amendment] = field(default_factory=list)


def parse_kinds(names: Iterable[str]) -> tuple[Kind, ...]:
    """Kind names from the command line, with a clear error for a wrong one."""
    out = []
    for name in names:
        try:
            out.append(Kind(name.lower()))
        except ValueError:
            raise UsageError(f"--kind: unknown kind '{name}'; use one of "
                             f"{', '.join(k.value for k in Kind)}") from None
    return tuple(out)


def rules_from(paths: Sequence[Path]) -> list[Rule]:
    """Load and validate every rule (RuleError lists every problem)."""
    return load_rules(paths)


def check(paths: Sequence[Path]) -> tuple[list[Rule], list[Problem]]:
    """Validate rule files; every problem of every file."""
    return check_files(paths)


def find_rule(rules: Sequence[Rule], name: str) -> Rule:
    """The rule with this id or official identifier, or NotFoundError with a suggestion."""
    for rule in rules:
        if rule.matches(name):
            return rule
    names = [r.id for r in rules] + [i for r in rules for i in r.identifiers]
    near = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    hint = f" Did you mean '{near[0]}'?" if near else " 'tracker calls' lists them."
    raise NotFoundError(f"No call with id '{name}'.{hint}")


def is_upcoming(o: Occurrence, now: datetime) -> bool:
    """Not yet over at `now` (an all-day or fuzzy item counts until its last day ends)."""
    if o.all_day:
        return o.last_day >= now.astimezone(o.instant.tzinfo).date()
    return o.instant >= now


def select(items: Iterable[Occurrence], rules: Sequence[Rule], q: Query) -> list[Occurrence]:
    """Filter occurrences by the query; tags match if any tag matches (OR)."""
    ids = {find_rule(rules, c).id for c in q.calls}
    tags = {t.lower() for t in q.tags}
    out = []
    for o in items:
        if ids and o.call_id not in ids:
            continue
        if q.kinds and o.kind not in q.kinds:
            continue
        if tags and not tags.intersection(o.tags):
            continue
        if not q.include_past and not is_upcoming(o, q.now):
            continue
        if q.until is not None and o.instant.date() > q.until:
            continue
        out.append(o)
    return out


def deadlines(rules: Sequence[Rule], q: Query) -> list[Occurrence]:
    """What is coming (or everything, with include_past), as known on q.now."""
    return select(expand_all(list(rules), q.now), rules, q)


def calls(rules: Sequence[Rule], now: datetime) -> list[CallSummary]:
    """Every call with its state, next cut-off and budget as of `now`."""
    out = []
    for rule in sorted(rules, key=lambda r: (r.type.value, r.id)):
        occ = expand(rule, now)
        nxt = next((o for o in occ if o.kind is Kind.CUTOFF and is_upcoming(o, now)
                    and o.status is not Status.CANCELLED), None)
        today = now.astimezone(rule.zone).date()
        out.append(CallSummary(rule, call_state(rule, now), nxt, budget_as_of(rule, today)))
    return out


def show(rules: Sequence[Rule], name: str, now: datetime) -> CallDetail:
    """One call: its facts, every occurrence past and future, amendments as known on `now`."""
    rule = find_rule(rules, name)
    today = now.astimezone(rule.zone).date()
    return CallDetail(rule, call_state(rule, now), expand(rule, now), budget_as_of(rule, today),
                      amendments_known(rule, today))


def days_left(o: Occurrence, now: datetime) -> int:
    """Whole days from the reader's today (`now`, in the reader's zone) to the occurrence's day."""
    if isinstance(o.start, datetime):
        return (o.start.astimezone(now.tzinfo).date() - now.date()).days
    return (o.start - now.date()).days
