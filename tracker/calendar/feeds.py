"""Which feeds exist and what each holds; rendering one feed from the store's data.

Feeds are read from an index of the store's occurrences by call (tags and programmes map to
calls), never by scanning every item per feed. Every feed keeps its address for good; the list
shown to people holds one feed per distinct content. Writing them all is `build` (build.py).

"all" holds every coming event and the last ALL_PAST_DAYS days, not every past one: at portal
scale every past event would make it tens of MB and growing each year (57 MB at 20,000 calls),
which calendar clients refuse or time out on, and a subscriber of "everything" wants what is
coming. Older events stay in the per-call, tag, programme and milestone feeds and in
`tracker changes`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from tracker import changes as history
from tracker import store as db
from tracker.calendar import events, files
from tracker.errors import UsageError
from tracker.models import Change, Filter, Kind, Occurrence, Revision

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # DTSTAMP of events the store has no revision for
ALL_PAST_DAYS = 30  # how far back "all" reaches


@dataclass(frozen=True)
class FeedSpec:
    """One published feed: its path under /feeds/ (without .ics), its names, what it holds."""

    path: str
    title: str
    description: str
    filter: Filter = field(default_factory=Filter)
    since: datetime | None = None  # events starting before this are left out ("all" only)

    def keeps(self, instant: datetime) -> bool:
        """Whether the window (if any) keeps an event starting at `instant`."""
        return self.since is None or instant >= self.since


def window_start(now: datetime) -> datetime:
    """Where "all" starts: midnight UTC, ALL_PAST_DAYS days before `now` (moves once a day)."""
    day = (now.astimezone(UTC) - timedelta(days=ALL_PAST_DAYS)).date()
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class Named(Protocol):
    """What feed addresses need of a call."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def tags(self) -> tuple[str, ...]: ...
    @property
    def programmes(self) -> tuple[str, ...]: ...


def specs_of(calls: Mapping[str, Named], now: datetime | None = None) -> list[FeedSpec]:
    """Every feed address: everything, milestones, one per call, tag and programme; a withdrawn
    call keeps its feed, so its subscribers see the cancellations. With `now`, "all" keeps
    only the events of the last ALL_PAST_DAYS days and to come."""
    cs = sorted(calls.values(), key=lambda c: c.id)
    specs = [FeedSpec("all", "Grant deadlines (everything)",
                      "Every cut-off, opening, closing and milestone tracked.",
                      since=window_start(now) if now is not None else None),
             FeedSpec("milestones", "Grant deadlines: policy milestones",
                      "Policy milestones only.", Filter(kinds=(Kind.MILESTONE,)))]
    specs += [FeedSpec(f"calls/{c.id}", c.title, f"Dates of {c.title}.", Filter((c.id,)))
              for c in cs]
    for tag in sorted({t for c in cs for t in c.tags}):
        specs.append(FeedSpec(f"tags/{tag}", f"Grant deadlines tagged {tag}",
                              f"Everything tagged '{tag}'.", Filter(tags=(tag,))))
    programmes: dict[str, tuple[str, list[str]]] = {}
    for c in cs:
        for p in c.programmes:
            programmes.setdefault(slug(p), (p, []))[1].append(c.id)
    for key, (name, ids) in sorted(programmes.items()):
        specs.append(FeedSpec(f"programmes/{key}", f"{name}: grant deadlines",
                              f"Calls funded by {name}.", Filter(tuple(sorted(ids)))))
    return specs


def slug(text: str) -> str:
    """'Horizon Europe' -> 'horizon-europe'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


KIND_NAMES = {Kind.OPENING: "openings", Kind.CUTOFF: "cut-offs", Kind.CLOSING: "closings",
              Kind.MILESTONE: "milestones"}


def filter_title(f: Filter, titles: dict[str, str] | None = None) -> str:
    """A calendar name that says what a filter holds: 'Grant deadlines: AI Factories, cut-offs'."""
    titles = titles or {}
    parts = [titles.get(c, c) for c in f.calls] + [f"tagged {t}" for t in f.tags]
    if f.kinds:
        parts.append(" and ".join(KIND_NAMES[k] for k in f.kinds))
    return "Grant deadlines" + (": " + ", ".join(parts) if parts else " (everything)")


@dataclass(frozen=True)
class FeedData:
    """Everything the feeds show, read once from the store, indexed by call."""

    items: list[Occurrence]
    revisions: dict[str, Revision]
    extras: dict[str, list[str]]
    calls: dict[str, db.CallRecord]
    token: str
    by_call: dict[str, list[Occurrence]] = field(default_factory=dict)

    def select(self, f: Filter) -> list[Occurrence]:
        """The items a filter holds, in the one chronological order, from the index."""
        if f.empty:
            return self.items
        ids = list(f.calls) if f.calls else sorted(self.by_call)
        if f.tags:
            ids = [c for c in ids if c in self.calls and f.matches_call(c, self.calls[c].tags)]
        chosen = [o for c in ids for o in self.by_call.get(c, ())]
        if f.kinds:
            chosen = [o for o in chosen if o.kind in f.kinds]
        return sorted(chosen, key=lambda o: (o.instant, o.id)) if len(ids) > 1 else chosen

    def specs(self, now: datetime | None = None) -> list[FeedSpec]:
        """Every feed address (see specs_of)."""
        return specs_of(self.calls, now)

    def holds(self, spec: FeedSpec) -> list[Occurrence]:
        """The items a feed holds: its filter, then its window."""
        chosen = self.select(spec.filter)
        return chosen if spec.since is None else [o for o in chosen if spec.keeps(o.instant)]

    def distinct(self) -> list[FeedSpec]:
        """One feed per meaning: of feeds with the same events, the first (most specific
        name: a call before the tags and programmes that hold only it) is listed."""
        seen: set[frozenset[str]] = set()
        out = []
        for spec in self.specs():
            content = frozenset(o.id for o in self.holds(spec))
            if content and content not in seen:
                seen.add(content)
                out.append(spec)
        return out


def describe(change: Change, zone: str) -> str:
    """The feed's line for an item's last change: 'Last change (2025-01-15): moved from ...'."""
    day = change.known_on.isoformat() if change.known_on else ""
    return f"Last change ({day}): {history.describe(change, zone)}"


def gather(store: db.Store) -> FeedData:
    """Read every occurrence (past and withdrawn too), revisions, calls and last changes."""
    items = db.load_occurrences(store, db.Window(include_withdrawn=True), EPOCH)
    calls = db.load_calls(store)
    last = db.last_changes(store)
    extras: dict[str, list[str]] = {}
    by_call: dict[str, list[Occurrence]] = {}
    for o in items:
        lines = []
        call = calls.get(o.call_id)
        if call is not None and call.budget_label() and o.kind is not Kind.MILESTONE:
            lines.append(f"Budget: {call.budget_label()}")
        if o.id in last:
            lines.append(describe(last[o.id], o.timezone))
        extras[o.id] = lines
        by_call.setdefault(o.call_id, []).append(o)
    return FeedData(items, db.revision_map(store), extras, calls, db.state_token(store),
                    by_call)


def render(data: FeedData, spec: FeedSpec, alarms: Sequence[timedelta] = (),
           url: str = "") -> bytes:
    """One feed's bytes."""
    return events.calendar(data.holds(spec), spec.title, EPOCH, data.revisions,
                           spec.description, data.extras, alarms, url)


def feed_url(base_url: str, spec: FeedSpec) -> str:
    """https://host/feeds/calls/x.ics"""
    return f"{base_url}/feeds/{spec.path}.ics"


def build(store: db.Store, out: Path, base_url: str, now: datetime) -> files.WriteReport:
    """Write every feed (only those whose content changed) and the index under `out`."""
    from tracker.calendar.build import build_feeds

    return build_feeds(store, out, base_url, now)


def narrowed(base: FeedSpec, calls: Sequence[str], tags: Sequence[str],
             kinds: Sequence[Kind], data: FeedData) -> FeedSpec:
    """Narrow a feed by query parameters; unknown values are a clear error, not an empty feed."""
    known_calls = set(data.calls)
    for c in calls:
        if c not in known_calls:
            raise UsageError(f"unknown call '{c}'")
    known_tags = {t for c in data.calls.values() for t in c.tags}
    for t in tags:
        if t not in known_tags:
            raise UsageError(f"unknown tag '{t}'")
    f = base.filter
    chosen = tuple(c for c in calls if not f.calls or c in f.calls) if calls else f.calls
    if calls and not chosen:
        raise UsageError("the call filter excludes everything in this feed")
    narrow = Filter(chosen, tuple(tags) or f.tags, tuple(kinds) or f.kinds)
    titles = {c.id: c.title for c in data.calls.values()}
    return FeedSpec(base.path, filter_title(narrow, titles), base.description, narrow,
                    base.since)
