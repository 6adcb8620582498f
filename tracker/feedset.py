"""Feeds from the store: gather what each event says, render the standard set or a filtered one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tracker import feeds, history, publish
from tracker import store as db
from tracker.errors import UsageError
from tracker.models import Kind, Occurrence, Revision

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # DTSTAMP of events the store has no revision for
MAX_ALARMS = 5


@dataclass(frozen=True)
class FeedData:
    """Everything the feeds show, read once from the store."""

    items: list[Occurrence]
    revisions: dict[str, Revision]
    extras: dict[str, list[str]]
    calls: dict[str, db.CallRecord]
    token: str

    def specs(self) -> list[feeds.FeedSpec]:
        """The standard feeds for the stored calls; a withdrawn call keeps its feed, so its
        subscribers see the cancellations."""
        return feeds.feed_specs([(c.id, c.title, c.tags, c.programmes)
                                 for c in self.calls.values()])


def describe(change: db.Change, zone: str) -> str:
    """The feed's line for an item's last change: 'Last change (2025-01-15): moved from ...'."""
    day = change.detected_at.date().isoformat() if change.detected_at else ""
    return f"Last change ({day}): {history.describe(change, zone)}"


def gather(store: db.Store) -> FeedData:
    """Read every occurrence (past and withdrawn too), revisions, calls and last changes."""
    window = db.Window(include_withdrawn=True)
    items = db.load_occurrences(store, window, EPOCH)
    calls = db.load_calls(store)
    changes = db.last_changes(store)
    extras: dict[str, list[str]] = {}
    for o in items:
        lines = []
        call = calls.get(o.call_id)
        if call is not None and call.budget_label() and o.kind is not Kind.MILESTONE:
            lines.append(f"Budget: {call.budget_label()}")
        if o.id in changes:
            lines.append(describe(changes[o.id], o.timezone))
        extras[o.id] = lines
    return FeedData(items, db.revision_map(store), extras, calls, db.state_token(store))


def render(data: FeedData, spec: feeds.FeedSpec, alarms: Sequence[timedelta] = (),
           url: str = "") -> bytes:
    """One feed's bytes."""
    chosen = [o for o in data.items if spec.holds(o)]
    return feeds.calendar(chosen, spec.title, EPOCH, data.revisions, spec.description,
                          data.extras, alarms, url)


def feed_url(base_url: str, spec: feeds.FeedSpec) -> str:
    """https://host/feeds/calls/x.ics"""
    return f"{base_url}/feeds/{spec.path}.ics"


def webcal(url: str) -> str:
    """The same URL with the webcal scheme, which calendar apps open as a subscription."""
    return "webcal://" + url.split("://", 1)[1]


def build(store: db.Store, out: Path, base_url: str, data: FeedData | None = None) \
        -> publish.WriteReport:
    """Write the standard feed set and its index under `out` (from `data` when given)."""
    data = data or gather(store)
    files, entries = {}, []
    for spec in data.specs():
        files[f"{spec.path}.ics"] = render(data, spec, url=feed_url(base_url, spec))
        url = feed_url(base_url, spec)
        entries.append({"path": f"{spec.path}.ics", "title": spec.title,
                        "description": spec.description, "url": url, "webcal": webcal(url),
                        "events": sum(1 for o in data.items if spec.holds(o))})
    return publish.write_feeds(out, files, {"feeds": entries})


def parse_alarms(text: str) -> list[timedelta]:
    """'1d,2h,30m' -> lead times for VALARM; a clear error otherwise."""
    out: list[timedelta] = []
    units = {"d": "days", "h": "hours", "m": "minutes", "w": "weeks"}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        number, unit = part[:-1], part[-1:].lower()
        if not number.isdigit() or unit not in units or int(number) > 10_000:
            raise UsageError(f"alarm '{part}' is not a lead time; write e.g. 1d, 2h or 30m, "
                             "comma-separated")
        out.append(timedelta(**{units[unit]: int(number)}))
    if len(out) > MAX_ALARMS:
        raise UsageError(f"at most {MAX_ALARMS} alarms per feed")
    return sorted(set(out), reverse=True)


def filtered_spec(base: feeds.FeedSpec, calls: Sequence[str], tags: Sequence[str],
                  kinds: Sequence[str], data: FeedData) -> feeds.FeedSpec:
    """Narrow a feed by query parameters; unknown values are a clear error, not an empty feed."""
    known_calls = {c.id for c in data.calls.values()}
    for c in calls:
        if c not in known_calls:
            raise UsageError(f"unknown call '{c}'")
    known_tags = {t for c in data.calls.values() for t in c.tags}
    for t in tags:
        if t not in known_tags:
            raise UsageError(f"unknown tag '{t}'")
    for k in kinds:
        if k not in {x.value for x in Kind}:
            raise UsageError(f"unknown kind '{k}'; use {', '.join(x.value for x in Kind)}")
    chosen_calls = tuple(c for c in calls if not base.calls or c in base.calls) if calls \
        else base.calls
    if calls and not chosen_calls:
        raise UsageError("the call filter excludes everything in this feed")
    title = base.title + (" (filtered)" if calls or tags or kinds else "")
    return feeds.FeedSpec(base.path, title, base.description, chosen_calls,
                          tuple(tags) or base.tags, tuple(kinds) or base.kinds)
