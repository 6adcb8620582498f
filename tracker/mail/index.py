"""What a queue run looks up instead of scanning: occurrences and changes indexed once by call,
tag and kind, and each distinct filter's selection computed once and shared by every
subscriber who has that filter.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from tracker.models import Filter, Kind, Occurrence, Status

T = TypeVar("T")
Keys = Callable[[T], Iterable[tuple[str, str]]]


class Index(Generic[T]):
    """Positions of items by ("call", id), ("tag", tag) and ("kind", kind)."""

    def __init__(self, items: Sequence[T], keys: Keys[T]) -> None:
        self.items = list(items)
        self._at: dict[tuple[str, str], list[int]] = {}
        for n, item in enumerate(self.items):
            for key in keys(item):
                self._at.setdefault(key, []).append(n)

    def candidates(self, f: Filter) -> list[T]:
        """Every item that may pass `f`, in the original order (the caller checks exactly).

        Calls narrow most, then tags, then kinds: the first given part is looked up."""
        if f.calls:
            wanted = [("call", c) for c in f.calls]
        elif f.tags:
            wanted = [("tag", t) for t in f.tags]
        elif f.kinds:
            wanted = [("kind", k.value) for k in f.kinds]
        else:
            return self.items
        found: set[int] = set()
        for key in wanted:
            found.update(self._at.get(key, ()))
        return [self.items[n] for n in sorted(found)]


def occurrence_keys(o: Occurrence) -> list[tuple[str, str]]:
    """Where an occurrence is filed."""
    return [("call", o.call_id), ("kind", o.kind.value), *(("tag", t) for t in o.tags)]


def change_keys(call_id: str, tags: Iterable[str], kind: Kind | None) \
        -> list[tuple[str, str]]:
    """Where a change is filed: a call's own change (kind None) matches every kind filter."""
    kinds = [kind] if kind is not None else list(Kind)
    return [("call", call_id), *(("kind", k.value) for k in kinds), *(("tag", t) for t in tags)]


@dataclass(frozen=True)
class Selection:
    """A filter's listable items (not passed, or overdue), nearest first, and its overdue
    items by the moment they turned overdue."""

    items: list[Occurrence]
    instants: list[datetime]
    overdue: list[tuple[datetime, Occurrence]]
    cutoffs: list[Occurrence]  # the cut-offs among the items (what alerts are about)
    cutoff_instants: list[datetime]

    def cutoffs_before(self, moment: datetime) -> list[Occurrence]:
        """The cut-offs up to `moment`, nearest first."""
        return self.cutoffs[:bisect_right(self.cutoff_instants, moment)]

    def within(self, horizon: datetime) -> list[Occurrence]:
        """Every listable item up to `horizon` (overdue ones are in the past: always in)."""
        return self.items[:bisect_right(self.instants, horizon)]

    def turned_overdue(self, since: datetime | None, now: datetime) \
            -> list[tuple[datetime, Occurrence]]:
        """The overdue items that turned overdue in (since, now]."""
        low = 0 if since is None else bisect_right(self.overdue, since, key=lambda t: t[0])
        return self.overdue[low:bisect_right(self.overdue, now, key=lambda t: t[0])]


def listable(o: Occurrence) -> bool:
    """What a digest may list: an item still to come, or an expected one that is overdue (its
    instant is past, so every horizon holds it)."""
    return o.status is not Status.PASSED


def turned(o: Occurrence) -> datetime:
    """When an overdue item turned overdue: the start of the day after its last possible day."""
    return datetime.combine(o.last_day + timedelta(days=1), datetime.min.time(),
                            o.instant.tzinfo)


class Selections:
    """Each distinct filter's selection, computed on first use from the index."""

    def __init__(self, upcoming: Sequence[Occurrence]) -> None:
        ordered = sorted((o for o in upcoming if listable(o)), key=lambda o: (o.instant, o.id))
        self.index = Index(ordered, occurrence_keys)
        self._done: dict[Filter, Selection] = {}

    def of(self, f: Filter) -> Selection:
        """The selection of `f` (the same object for every subscriber with that filter)."""
        found = self._done.get(f)
        if found is None:
            found_by = self.index.candidates(f)
            one_part = sum(1 for part in (f.calls, f.tags, f.kinds) if part) <= 1
            items = found_by if one_part else [o for o in found_by if f.matches(o)]
            overdue = sorted(((turned(o), o) for o in items if o.status is Status.OVERDUE),
                             key=lambda t: (t[0], t[1].id))
            cutoffs = [o for o in items if o.kind is Kind.CUTOFF]
            found = Selection(items, [o.instant for o in items], overdue, cutoffs,
                              [o.instant for o in cutoffs])
            self._done[f] = found
        return found

    def chosen(self, f: Filter, now: datetime, horizon_days: int) -> list[Occurrence]:
        """What a digest of `f` lists at `now`: every listable item inside the horizon."""
        return self.of(f).within(now + timedelta(days=horizon_days))
