"""Occurrences -> iCalendar bytes. Pure: the same input gives the same bytes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event, Timezone

from tracker.models import FuzzyDate, Occurrence, Precision, Revision, Status

PRODID = "-//grant-tracker//tracker//EN"
UID_DOMAIN = "grant-tracker"


def vtimezone(tzid: str, first: date, last: date) -> Timezone:
    """A VTIMEZONE that ical.js, libical and vobject read right: one RDATE per line, no COMMENT."""
    tz = Timezone.from_tzid(tzid, first_date=first, last_date=last)
    tz.pop("COMMENT", None)
    for sub in tz.subcomponents:
        rdate = sub.pop("RDATE", None)
        if rdate is None:
            continue
        lists = rdate if isinstance(rdate, list) else [rdate]
        for values in lists:
            for value in values.dts:
                sub.add("RDATE", value.dt)
    return tz


def summary(o: Occurrence) -> str:
    """What the event is, with its uncertainty: 'AI Factories — cut-off 3 (tentative)'."""
    text = o.title
    if o.precision not in (Precision.DAY, Precision.MINUTE):
        assert isinstance(o.start, date)
        text += f" (expected {FuzzyDate(o.start, o.precision).label()})"
    if o.status is Status.CANCELLED:
        text += " (cancelled)"
    elif o.tentative:
        text += " (tentative)"
    return text


def description(o: Occurrence, extra: str = "") -> str:
    """Plain-text details: status, original date when moved, note, link."""
    lines = [f"Status: {o.status.value}" + (" (not yet confirmed)" if o.tentative else "")]
    lines.append(f"When: {o.when_label()}")
    if o.original is not None:
        was = o.original
        shown = was.strftime("%Y-%m-%d %H:%M %Z") if isinstance(was, datetime) else was.isoformat()
        lines.append(f"Moved from: {shown}")
    if o.note:
        lines.append(f"Note: {o.note}")
    if extra:
        lines.append(extra)
    if o.url:
        lines.append(f"Details: {o.url}")
    if o.source and o.source != o.url:
        lines.append(f"Source: {o.source}")
    return "\n".join(lines)


def uid(o: Occurrence) -> str:
    """Permanent UID from the occurrence id."""
    return f"{o.id}@{UID_DOMAIN}"


def event(o: Occurrence, stamp: datetime, revision: Revision | None = None,
          extra: str = "") -> Event:
    """One VEVENT for one occurrence."""
    ev = Event()
    ev.add("uid", uid(o))
    ev.add("dtstamp", (revision.modified if revision else stamp).astimezone(UTC))
    if isinstance(o.start, datetime):
        ev.add("dtstart", o.start)
        ev.add("dtend", o.start)
    else:
        ev.add("dtstart", o.start)
        ev.add("dtend", o.start + timedelta(days=1))
    ev.add("summary", summary(o))
    ev.add("description", description(o, extra))
    if o.url:
        ev.add("url", o.url)
    ev.add("status", "CANCELLED" if o.status is Status.CANCELLED
           else "TENTATIVE" if o.tentative else "CONFIRMED")
    ev.add("transp", "TRANSPARENT")
    ev.add("categories", [o.kind.value, *o.tags])
    if revision is not None:
        ev.add("sequence", revision.sequence)
        ev.add("last-modified", revision.modified.astimezone(UTC))
    else:
        ev.add("sequence", 0)
    return ev


def calendar(occurrences: Sequence[Occurrence], name: str, stamp: datetime,
             revisions: Mapping[str, Revision] | None = None, description_text: str = "",
             refresh: timedelta = timedelta(hours=12)) -> bytes:
    """A whole VCALENDAR with one VTIMEZONE per zone used; deterministic for equal input."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("name", name)  # icalendar 7 also writes X-WR-CALNAME from this
    if description_text:
        cal.add("description", description_text)
        cal.add("x-wr-caldesc", description_text)
    cal.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", refresh)
    timed = [o.start for o in occurrences if isinstance(o.start, datetime)]
    zones = sorted({o.timezone for o in occurrences if isinstance(o.start, datetime)})
    if timed:
        first = min(timed).date() - timedelta(days=366)
        last = max(timed).date() + timedelta(days=366)
        for tzid in zones:
            cal.add_component(vtimezone(tzid, first, last))
    revisions = revisions or {}
    for o in sorted(occurrences, key=lambda x: (x.instant, x.id)):
        cal.add_component(event(o, stamp, revisions.get(o.id)))
    return bytes(cal.to_ical())
