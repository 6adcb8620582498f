"""What a subscriber should read now: periods, alerts, content, and the rendered message.

Pure: every function takes `now`; templates come in as a Jinja2 environment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

import css_inline
import jinja2

from tracker import changes as history
from tracker import evidence
from tracker.calendar import events
from tracker.mail.mime import message as message  # the confirmation mail builds with it too
from tracker.models import (
    Change,
    Every,
    Kind,
    Occurrence,
    Revision,
    Status,
    Subscription,
    moment_label,
)

LATE_AFTER = timedelta(hours=1)
MAX_ITEMS = 50  # dates listed in one digest: more is a list nobody reads; the feed has them all
MAX_CHANGES = 50  # changes listed in one digest; the rest are counted


@dataclass(frozen=True)
class Period:
    """One digest period of one subscriber: its key, when it was due, and a label."""

    key: str
    due_at: datetime
    label: str


def _at(sub: Subscription, day: date) -> datetime:
    return datetime.combine(day, sub.at, sub.zone)


def due_period(sub: Subscription, now: datetime) -> Period:
    """The latest period whose send time (the subscriber's hour, in their zone) has come."""
    today = now.astimezone(sub.zone).date()
    if sub.every is Every.DAILY:
        day = today if _at(sub, today) <= now else today - timedelta(days=1)
        return Period(f"daily:{day.isoformat()}", _at(sub, day), f"{day:%A %d %B %Y}")
    if sub.every is Every.WEEKLY:
        day = today - timedelta(days=today.weekday())  # Monday
        if _at(sub, day) > now:
            day -= timedelta(days=7)
        year, week, _ = day.isocalendar()
        return Period(f"weekly:{year}-W{week:02d}", _at(sub, day), f"week {week}, {year}")
    day = today.replace(day=1)
    if _at(sub, day) > now:
        day = (day - timedelta(days=1)).replace(day=1)
    return Period(f"monthly:{day:%Y-%m}", _at(sub, day), f"{day:%B %Y}")


def previous_period(sub: Subscription, period: Period) -> Period:
    """The period just before `period`."""
    return due_period(sub, period.due_at - timedelta(seconds=1))


def period_is_new(sub: Subscription, period: Period) -> bool:
    """Not yet queued, and not from before the subscription began."""
    if period.key == sub.last_period:
        return False
    same_kind = sub.last_period.split(":")[0] == period.key.split(":")[0]
    if sub.last_period and same_kind and period.key < sub.last_period:
        return False
    return sub.created_at is None or period.due_at >= sub.created_at


def alert_time(sub: Subscription, o: Occurrence, lead_days: int) -> datetime:
    """The subscriber's hour, `lead_days` before the occurrence's day in the reader's zone."""
    day = o.instant.astimezone(sub.zone).date() - timedelta(days=lead_days)
    return _at(sub, day)


def due_alert(sub: Subscription, o: Occurrence, now: datetime,
              queued: set[str]) -> tuple[int, str] | None:
    """The (lead, key) of the alert to queue now for a cut-off, if any.

    After downtime only the nearest lead is sent: two alerts at once would be noise.
    """
    if o.kind is not Kind.CUTOFF or o.status in (Status.CANCELLED, Status.PASSED):
        return None
    if o.instant <= now:
        return None
    due = [lead for lead in sorted(sub.alerts) if alert_time(sub, o, lead) <= now]
    if not due:
        return None
    lead = due[0]
    # the cut-off's instant is part of the key: a moved cut-off gets its alerts again
    base = f"alert:{o.id}@{o.instant.astimezone(UTC):%Y%m%dT%H%MZ}"
    if any(f"{base}:{d}d" in queued for d in sub.alerts if d <= lead):
        return None
    return lead, f"{base}:{lead}d"


@dataclass(frozen=True)
class Line:
    """One dated item as the reader sees it."""

    title: str
    call_time: str
    reader_time: str
    days_left: int
    left: str
    status: str
    url: str
    note: str
    known: str = ""  # how the date is known, when not simply official


@dataclass(frozen=True)
class ChangeLine:
    """One change as the reader sees it."""

    title: str
    what: str
    when: str
    url: str


@dataclass(frozen=True)
class Digest:
    """Everything a digest or alert says."""

    subscriber: Subscription
    now: datetime
    items: list[Line]
    changes: list[ChangeLine]
    feed_url: str
    unsubscribe_url: str
    manage_hint: str
    period: Period | None = None
    late_since: datetime | None = None
    occurrences: list[Occurrence] = field(default_factory=list)  # the listed ones
    more: int = 0  # dates inside the horizon not listed (the nearest MAX_ITEMS are)
    more_changes: int = 0  # changes not listed (the first MAX_CHANGES are)

    @property
    def empty(self) -> bool:
        """Nothing new to say (an item still overdue is no news by itself)."""
        return not self.changes and not self.more and \
            all(o.status is Status.OVERDUE for o in self.occurrences)


def _left(days: int) -> str:
    if days == 0:
        return "today"
    if days == 1:
        return "1 day left"
    return f"{days} days left" if days > 0 else f"{-days} days ago"


def line(o: Occurrence, sub: Subscription, now: datetime) -> Line:
    """How one occurrence reads in the subscriber's zone."""
    today = now.astimezone(sub.zone).date()
    if isinstance(o.start, datetime):
        local = o.start.astimezone(sub.zone)
        reader = moment_label(local)
        if o.timezone != sub.timezone:
            reader += f" ({sub.timezone})"
        days = (local.date() - today).days
    else:
        reader = o.when_label()
        days = (o.start - today).days
    status = o.status.value
    if o.tentative and o.status is not Status.TENTATIVE:
        status += " (tentative)"
    left = _left(days)
    if o.status is Status.OVERDUE:
        left = evidence.overdue_words(o, now.astimezone(sub.zone))
    elif o.end is not None:  # a month, quarter or year: say so, never 'N days ago'
        days = (o.end - today).days
        left = f"expected {o.when_label()}"
    known = "" if o.official and not evidence.time_words(o) else evidence.words(o)
    return Line(o.title, o.when_label(), reader, days, left, status, o.url, o.note, known)


def subscriber_feed_url(base_url: str, sub: Subscription) -> str:
    """The subscriber's own filtered feed."""
    query = [("call", c) for c in sub.calls] + [("tag", t) for t in sub.tags] + \
        [("kind", k.value) for k in sub.kinds]
    return f"{base_url}/feeds/all.ics" + (f"?{urlencode(query)}" if query else "")


def choose(sub: Subscription, upcoming: Sequence[Occurrence], now: datetime) \
        -> list[Occurrence]:
    """The followed items inside the horizon (and overdue ones), nearest first: what a digest
    lists, found by a scan (a queue run looks them up in its index instead)."""
    horizon = now + timedelta(days=sub.horizon_days)
    chosen = [o for o in upcoming if sub.follows(o) and o.status is not Status.PASSED
              and o.instant <= horizon]
    return sorted(chosen, key=lambda o: (o.instant, o.id))


def readable(chosen: Sequence[Occurrence]) -> list[Occurrence]:
    """At most MAX_ITEMS of `chosen`: the nearest dates to come first, then the most recently
    overdue (an item long overdue is no news), in date order."""
    if len(chosen) <= MAX_ITEMS:
        return list(chosen)
    coming = [o for o in chosen if o.status is not Status.OVERDUE][:MAX_ITEMS]
    room = MAX_ITEMS - len(coming)
    late = [o for o in chosen if o.status is Status.OVERDUE][-room:] if room else []
    return sorted(late + coming, key=lambda o: (o.instant, o.id))


def compose(sub: Subscription, chosen: Sequence[Occurrence],
            changes: Sequence[tuple[Change, Occurrence | None, str]], now: datetime,
            base_url: str, token: str, period: Period | None = None,
            lines: dict[tuple[str, str], Line] | None = None) -> Digest:
    """A digest of the items `chosen` for `sub` (nearest first) and the changes given; it
    lists the first MAX_ITEMS and MAX_CHANGES and counts the rest.

    `changes` holds (change, its occurrence or None, a title) already filtered for `sub`;
    `lines` keeps each item's line per reader's zone, for a run that composes many digests.
    """
    listed = readable(chosen)
    lines = {} if lines is None else lines
    for o in listed:
        if (o.id, sub.timezone) not in lines:
            lines[o.id, sub.timezone] = line(o, sub, now)
    change_lines = []
    for c, occ, title in changes[:MAX_CHANGES]:
        zone = occ.timezone if occ else sub.timezone
        when = c.known_on.isoformat() if c.known_on else ""
        what = history.describe(c, zone)
        if c.source:
            what += f" (source: {c.source})"
        change_lines.append(ChangeLine(title, what, when, occ.url if occ else ""))
    late = None
    if period is not None and now - period.due_at > LATE_AFTER:
        late = period.due_at
    return Digest(sub, now, [lines[o.id, sub.timezone] for o in listed], change_lines,
                  subscriber_feed_url(base_url, sub), f"{base_url}/u/{token}",
                  "tracker subscribe EMAIL ... changes what you receive", period, late, listed,
                  len(chosen) - len(listed), max(0, len(changes) - MAX_CHANGES))


def render(env: jinja2.Environment, name: str, digest: Digest, **extra: object) \
        -> tuple[str, str]:
    """(text, html) from `name`.txt and `name`.html, CSS inlined in the HTML."""
    context = {"d": digest, **extra}
    text = env.get_template(f"{name}.txt").render(**context)
    html = css_inline.inline(env.get_template(f"{name}.html").render(**context))
    return text, html


def subject(digest: Digest) -> str:
    """'Grant deadlines, week 48: 3 coming up, 1 change'."""
    parts = [f"{len(digest.items) + digest.more} coming up"]
    told = len(digest.changes) + digest.more_changes
    if told:
        parts.append(f"{told} change" + ("s" if told > 1 else ""))
    label = digest.period.label if digest.period else digest.now.date().isoformat()
    return f"Grant deadlines, {label}: " + ", ".join(parts)


def attachment_of(listed: Sequence[Occurrence], now: datetime,
                  revisions: Mapping[str, Revision]) -> bytes | None:
    """The listed items as an .ics file (None when nothing is listed)."""
    if not listed:
        return None
    return events.calendar(listed, "Grant deadlines", now, revisions)
