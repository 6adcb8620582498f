"""What the pages show, as plain values built from feed data (no I/O, no clock): the list of
what is coming with its filters, a call's page, and the one-click subscribe links."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import quote, urlencode

from tracker import changes as history
from tracker import evidence
from tracker.calendar import feeds
from tracker.models import (
    Change,
    Kind,
    Occurrence,
    Rule,
    Status,
    expected_overdue,
    money,
)
from tracker.urls import webcal
from tracker.usecases import is_upcoming
from tracker.web.timeline import Timeline, timeline

STATES = ("open", "forthcoming")


def at(o: Occurrence, now: datetime) -> Occurrence:
    """The occurrence with its status as of `now` (feed data is read once, timeless): passed,
    or overdue for an expectation nobody confirmed."""
    if o.status is Status.CANCELLED or is_upcoming(o, now):
        return o
    late = expected_overdue(o.kind, o.tentative, False)
    return replace(o, status=Status.OVERDUE if late else Status.PASSED)


def safe_url(url: str) -> str:
    """The URL when it is http(s), else '' (never an unchecked scheme in an href)."""
    return url if url.startswith(("https://", "http://")) else ""


@dataclass(frozen=True)
class Links:
    """Every way to subscribe to one feed."""

    title: str
    https: str
    webcal: str
    google: str
    outlook_web: str
    outlook_365: str
    download: str


def links(url: str, title: str) -> Links:
    """Subscribe links for the feed at `url` (https or http): calendar apps fetch it themselves."""
    name = quote(title)
    return Links(
        title, url, webcal(url),
        "https://calendar.google.com/calendar/render?" + urlencode({"cid": webcal(url)}),
        f"https://outlook.live.com/calendar/0/addfromweb?url={quote(url, safe='')}&name={name}",
        f"https://outlook.office.com/calendar/0/addfromweb?url={quote(url, safe='')}"
        f"&name={name}",
        url)


def call_state(items: Sequence[Occurrence], now: datetime, call_type: str,
               withdrawn: bool) -> str:
    """'open', 'forthcoming', 'closed', 'withdrawn' or 'policy', from the call's dates."""
    if withdrawn:
        return "withdrawn"
    if call_type != "call":
        return "policy"
    opening = next((o for o in items if o.kind is Kind.OPENING), None)
    if opening is not None and is_upcoming(opening, now) and opening.instant > now:
        return "forthcoming"
    alive = [o for o in items if o.kind in (Kind.CUTOFF, Kind.CLOSING)
             and o.status is not Status.CANCELLED and is_upcoming(o, now)]
    return "open" if alive else "closed"


@dataclass(frozen=True)
class Row:
    """One line of the list: an occurrence as the page and its script need it."""

    item: Occurrence
    state: str
    marker: str
    known: str
    days_left: int
    overdue: str = ""

    @property
    def iso(self) -> str:
        """The instant for the browser's countdown (the end of the day for all-day items)."""
        o = self.item
        if isinstance(o.start, datetime):
            return o.start.isoformat()
        return datetime.combine(o.last_day, datetime.max.time().replace(microsecond=0),
                                o.instant.tzinfo).isoformat()


@dataclass(frozen=True)
class Choices:
    """What the filters offer, and what is chosen."""

    calls: list[tuple[str, str]]
    tags: list[str]
    programmes: list[tuple[str, str]]  # (slug, name)
    call: str = ""
    tag: str = ""
    programme: str = ""
    kind: str = ""
    state: str = ""
    q: str = ""


@dataclass(frozen=True)
class Listing:
    """The index page's content."""

    rows: list[Row]
    choices: Choices
    feed: Links
    open_calls: int
    states: dict[str, str] = field(default_factory=dict)


def _states(data: feeds.FeedData, now: datetime) -> dict[str, str]:
    return {c.id: call_state(data.by_call.get(c.id, []), now, c.type, c.withdrawn)
            for c in data.calls.values()}


def chosen(params: Mapping[str, str], data: feeds.FeedData) -> Choices:
    """The filter choices from query parameters; unknown values are ignored, not errors."""
    cs = sorted(data.calls.values(), key=lambda c: c.title.lower())
    tags = sorted({t for c in cs for t in c.tags})
    progs = sorted({(feeds.slug(p), p) for c in cs for p in c.programmes}, key=lambda p: p[1])

    def pick(name: str, allowed: Sequence[str]) -> str:
        value = params.get(name, "")
        return value if value in allowed else ""

    return Choices([(c.id, c.title) for c in cs], tags, progs,
                   pick("call", [c.id for c in cs]), pick("tag", tags),
                   pick("programme", [p for p, _ in progs]), pick("kind", [k.value for k in Kind]),
                   pick("state", STATES), params.get("q", "")[:100])


def feed_for(base: str, c: Choices, data: feeds.FeedData, states: Mapping[str, str]) -> Links:
    """The feed address that holds what the filters choose (open/forthcoming name the calls
    in that state today; the search box narrows only the page)."""
    path = f"programmes/{c.programme}" if c.programme else "all"
    query: list[tuple[str, str]] = []
    calls = [c.call] if c.call else []
    if c.state:
        in_state = sorted(i for i, s in states.items() if s == c.state)
        calls = [i for i in (calls or in_state) if i in in_state]
    query += [("call", i) for i in calls]
    if c.tag:
        query.append(("tag", c.tag))
    if c.kind:
        query.append(("kind", c.kind))
    url = f"{base}/feeds/{path}.ics" + (f"?{urlencode(query)}" if query else "")
    titles = {k.id: k.title for k in data.calls.values()}
    parts = [titles[c.call]] if c.call else []
    if c.state:
        parts.append("calls open now" if c.state == "open" else "forthcoming calls")
    if c.tag:
        parts.append(f"tagged {c.tag}")
    if c.kind:
        parts.append(feeds.KIND_NAMES[Kind(c.kind)])
    if c.programme:
        title = f"{dict(c.programmes)[c.programme]}: grant deadlines" + \
            "".join(f", {p}" for p in parts)
    else:
        title = "Grant deadlines" + (": " + ", ".join(parts) if parts else " (everything)")
    return links(url, title)


def matches(row: Row, c: Choices, data: feeds.FeedData) -> bool:
    """Whether a row passes the filters (the script applies the same test in the browser)."""
    o = row.item
    call = data.calls.get(o.call_id)
    text = f"{o.title} {o.call_title} {' '.join(o.tags)}".lower()
    return ((not c.call or o.call_id == c.call) and (not c.tag or c.tag in o.tags)
            and (not c.programme or (call is not None and c.programme in
                                     {feeds.slug(p) for p in call.programmes}))
            and (not c.kind or o.kind.value == c.kind) and (not c.state or row.state == c.state)
            and all(word in text for word in c.q.lower().split()))


def listing(data: feeds.FeedData, now: datetime, base: str, params: Mapping[str, str],
            limit: int = 200) -> Listing:
    """What is coming, nearest first (overdue expectations stay listed), with the filters."""
    states = _states(data, now)
    rows = []
    for o in (at(i, now) for i in data.items):
        if o.status is Status.CANCELLED or not (is_upcoming(o, now) or
                                                o.status is Status.OVERDUE):
            continue
        local = now.astimezone(o.instant.tzinfo)
        overdue = evidence.overdue_words(o, local) if o.status is Status.OVERDUE else ""
        rows.append(Row(o, states.get(o.call_id, ""), evidence.marker(o), evidence.words(o),
                        (o.last_day - local.date()).days, overdue))
    c = chosen(params, data)
    shown = [r for r in rows if matches(r, c, data)][:limit]
    return Listing(shown, c, feed_for(base, c, data, states),
                   sum(1 for s in states.values() if s == "open"), states)


@dataclass(frozen=True)
class HistoryLine:
    """One change of a call, as its page lists it."""

    day: str
    title: str
    what: str
    source: str
    source_url: str


@dataclass(frozen=True)
class CallPage:
    """A call's page."""

    id: str
    record: object
    rule: Rule | None
    state: str
    items: list[Occurrence]
    rows: list[Row]
    picture: Timeline
    changes: list[HistoryLine]
    feed: Links
    budget: str
    parts: list[tuple[str, str, str]]
    sources: list[tuple[str, str, str]]  # (title, url, 'official' | 'secondary')


def call_page(data: feeds.FeedData, call_id: str, now: datetime, base: str,
              changes: Sequence[Change], rule: Rule | None) -> CallPage:
    """Everything the page of one call shows, every date past and future included."""
    record = data.calls[call_id]
    items = [at(o, now) for o in data.by_call.get(call_id, [])]
    state = call_state(items, now, record.type, record.withdrawn)
    rows = []
    for o in items:
        local = now.astimezone(o.instant.tzinfo)
        overdue = evidence.overdue_words(o, local) if o.status is Status.OVERDUE else ""
        rows.append(Row(o, state, evidence.marker(o), evidence.words(o),
                        (o.last_day - local.date()).days, overdue))
    titles = {o.id: o.title for o in items}
    zone = items[0].timezone if items else "UTC"
    lines = [HistoryLine(c.known_on.isoformat() if c.known_on else "",
                         titles.get(c.entity_id, record.title),
                         history.describe(c, zone, record.budget_currency or "EUR"),
                         c.source, safe_url(c.source_url))
             for c in history.collapse(list(changes)) if history.shown(c)]
    spec = next(s for s in data.specs() if s.path == f"calls/{call_id}")
    budget = record.budget_label()
    parts: list[tuple[str, str, str]] = []
    sources: list[tuple[str, str, str]] = []
    if rule is not None:
        if rule.budget is not None:
            parts = [(p.name, money(p.amount, rule.budget.currency) if p.amount is not None
                      else "amount not published", p.note) for p in rule.budget.parts]
        sources = [(s.title, safe_url(s.url), "secondary" if s.secondary else "official")
                   for s in rule.sources.values()]
    return CallPage(call_id, record, rule, state, items, rows,
                    timeline(items, now, f"Timeline of {record.title}"), lines,
                    links(feeds.feed_url(base, spec), spec.title), budget, parts, sources)
