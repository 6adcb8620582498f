"""What a subscriber should read now: periods, alerts, content, and the rendered message.

Pure: every function takes `now`; templates come in as a Jinja2 environment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.charset import QP, Charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr
from urllib.parse import quote, urlencode

import css_inline
import jinja2

from tracker import changes as history
from tracker import evidence
from tracker.calendar import events
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
    occurrences: list[Occurrence] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing new to say (an item still overdue is no news by itself)."""
        return not self.changes and all(o.status is Status.OVERDUE for o in self.occurrences)


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


def compose(sub: Subscription, upcoming: Sequence[Occurrence],
            changes: Sequence[tuple[Change, Occurrence | None, str]], now: datetime,
            base_url: str, token: str, period: Period | None = None) -> Digest:
    """A digest: followed items inside the horizon (nearest first) and the changes given.

    `changes` holds (change, its occurrence or None, a title) already filtered for `sub`.
    """
    horizon = now + timedelta(days=sub.horizon_days)
    chosen = [o for o in upcoming if sub.follows(o) and ((o.instant <= horizon
              and o.status is not Status.PASSED) or o.status is Status.OVERDUE)]
    chosen.sort(key=lambda o: (o.instant, o.id))
    change_lines = []
    for c, occ, title in changes:
        zone = occ.timezone if occ else sub.timezone
        when = c.known_on.isoformat() if c.known_on else ""
        what = history.describe(c, zone)
        if c.source:
            what += f" (source: {c.source})"
        change_lines.append(ChangeLine(title, what, when, occ.url if occ else ""))
    late = None
    if period is not None and now - period.due_at > LATE_AFTER:
        late = period.due_at
    return Digest(sub, now, [line(o, sub, now) for o in chosen], change_lines,
                  subscriber_feed_url(base_url, sub), f"{base_url}/u/{token}",
                  "tracker subscribe EMAIL ... changes what you receive", period, late, chosen)


def render(env: jinja2.Environment, name: str, digest: Digest, **extra: object) \
        -> tuple[str, str]:
    """(text, html) from `name`.txt and `name`.html, CSS inlined in the HTML."""
    context = {"d": digest, **extra}
    text = env.get_template(f"{name}.txt").render(**context)
    html = css_inline.inline(env.get_template(f"{name}.html").render(**context))
    return text, html


def subject(digest: Digest) -> str:
    """'Grant deadlines, week 48: 3 coming up, 1 change'."""
    parts = [f"{len(digest.items)} coming up"]
    if digest.changes:
        parts.append(f"{len(digest.changes)} change" + ("s" if len(digest.changes) > 1 else ""))
    label = digest.period.label if digest.period else digest.now.date().isoformat()
    return f"Grant deadlines, {label}: " + ", ".join(parts)


def message(sender: str, recipient: str, subject_line: str, text: str, html: str,
            ics: bytes | None, message_id: str, date_: datetime, unsubscribe_url: str,
            token: str) -> bytes:
    """The RFC 5322 message: text + HTML alternatives, an .ics attachment, unsubscribe headers.

    Built with the classic MIME classes: the modern header registry parses every header it is
    given and made this the slowest step of a digest run (about 12 ms a message)."""
    alternative = MIMEMultipart("alternative")
    alternative.attach(_text_part(text, "plain"))
    alternative.attach(_text_part(html, "html"))
    msg = alternative
    if ics is not None:
        msg = MIMEMultipart("mixed")
        msg.attach(alternative)
        calendar_part = _text_part(ics.decode("utf-8"), "calendar")
        calendar_part.set_param("method", "PUBLISH")
        calendar_part.add_header("Content-Disposition", "attachment", filename="deadlines.ics")
        msg.attach(calendar_part)
    msg["From"] = _address(sender)
    msg["To"] = _address(recipient)
    msg["Subject"] = _header(" ".join(subject_line.split()), "Subject")  # type: ignore[assignment]
    msg["Date"] = format_datetime(date_)
    msg["Message-ID"] = message_id
    mailto = f"mailto:{parseaddr(sender)[1]}?subject={quote('unsubscribe ' + token)}"
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>, <{mailto}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg["MIME-Version"] = "1.0"
    return msg.as_bytes(policy=_WIRE)  # CRLF line ends: smtplib sends bytes as they are


_WIRE = compat32.clone(linesep="\r\n")
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP


def _text_part(body: str, subtype: str) -> MIMENonMultipart:
    part = MIMENonMultipart("text", subtype)
    part.set_payload(body, _UTF8)  # quoted-printable: readable, 7-bit safe
    return part


def _header(value: str, name: str) -> str | Header:
    return value if value.isascii() else Header(value, "utf-8", header_name=name)


def _address(value: str) -> str:
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8") if name else address


def attachment(digest: Digest, revisions: Mapping[str, Revision]) -> bytes | None:
    """The listed items as an .ics file (None when nothing is listed)."""
    if not digest.occurrences:
        return None
    return events.calendar(digest.occurrences, "Grant deadlines", digest.now, revisions)
