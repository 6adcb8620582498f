"""Occurrences -> iCalendar bytes. Pure: the same input gives the same bytes.

Each event's text is rendered once (with icalendar) and reused by every feed and attachment
that holds it; each zone's VTIMEZONE once per range (see vtimezone.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from icalendar import Alarm, Calendar, Event, vDuration

from tracker import evidence
from tracker.calendar.vtimezone import vtimezone_text
from tracker.models import Occurrence, Precision, Revision, Status, moment_label

PRODID = "-//grant-tracker//tracker//EN"
UID_DOMAIN = "grant-tracker"


def summary(o: Occurrence) -> str:
    """What the event is, with its uncertainty: 'AI Factories — cut-off 3 (derived)'."""
    text = o.title
    if o.precision not in (Precision.DAY, Precision.MINUTE):
        text += f" (expected {o.when_label()})"
    mark = evidence.marker(o) if o.status is not Status.OVERDUE else ""
    return f"{text} ({mark})" if mark else text


def _shown(value: datetime | date) -> str:
    return moment_label(value) if isinstance(value, datetime) else value.isoformat()


def description(o: Occurrence, extra: Sequence[str] = ()) -> str:
    """Plain-text details: status, date and how it is known, move, note, extras, links."""
    status = o.standing
    lines = [f"Status: {status.value}" + (" (not yet confirmed)" if o.tentative and
                                         status is not Status.TENTATIVE else "")]
    if o.precision in (Precision.DAY, Precision.MINUTE):
        lines.append(f"When: {o.when_label()}")
    else:
        lines.append(f"When: {o.when_label()} (approximate: shown on the first day of the "
                     f"{o.precision.value})")
    lines.append(f"How we know: {evidence.words(o)}")
    if o.original is not None:
        lines.append(f"Moved from: {_shown(o.original)}")
    if o.note:
        lines.append(f"Note: {o.note}")
    lines.extend(extra)
    if o.url:
        lines.append(f"Details: {o.url}")
    if o.source_url and o.source_url != o.url:
        lines.append(f"Source: {o.source_url}")
    return "\n".join(lines)


def uid(o: Occurrence) -> str:
    """Permanent UID from the occurrence id."""
    return f"{o.id}@{UID_DOMAIN}"


def ical_status(o: Occurrence) -> str:
    """CONFIRMED means official: the funder's own text and not tentative."""
    if o.status is Status.CANCELLED:
        return "CANCELLED"
    return "CONFIRMED" if o.official else "TENTATIVE"


def event(o: Occurrence, stamp: datetime, revision: Revision | None = None,
          extra: Sequence[str] = (), alarms: Sequence[timedelta] = ()) -> Event:
    """One VEVENT for one occurrence; DTSTAMP is the last change, never the clock."""
    ev = Event()
    ev.add("uid", uid(o))
    ev.add("dtstamp", (revision.modified if revision else stamp).astimezone(UTC))
    ev.add("dtstart", o.start)
    if isinstance(o.start, datetime):
        ev.add("dtend", o.start)
    else:
        ev.add("dtend", o.start + timedelta(days=1))
    ev.add("summary", summary(o))
    ev.add("description", description(o, extra))
    if o.url:
        ev.add("url", o.url)
    ev.add("status", ical_status(o))
    ev.add("transp", "TRANSPARENT")
    ev.add("categories", [o.kind.value, *o.tags])
    ev.add("sequence", revision.sequence if revision else 0)
    if revision is not None:
        ev.add("last-modified", revision.modified.astimezone(UTC))
    for before in alarms:
        alarm = Alarm()
        alarm.add("uid", f"{o.id}/alarm/{int(before.total_seconds())}@{UID_DOMAIN}")
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary(o))
        alarm.add("trigger", -before)
        ev.add_component(alarm)
    return ev


@lru_cache(maxsize=200_000)
def event_text(o: Occurrence, stamp: datetime, revision: Revision | None,
               extra: tuple[str, ...], alarms: tuple[timedelta, ...]) -> bytes:
    """One event's iCalendar bytes, rendered once for every feed that holds it."""
    return bytes(event(o, stamp, revision, extra, alarms).to_ical())


def calendar(occurrences: Sequence[Occurrence], name: str, stamp: datetime,
             revisions: Mapping[str, Revision] | None = None, description_text: str = "",
             extras: Mapping[str, Sequence[str]] | None = None,
             alarms: Sequence[timedelta] = (), url: str = "",
             refresh: timedelta = timedelta(hours=12)) -> bytes:
    """A whole VCALENDAR with one VTIMEZONE per zone used; equal input gives equal bytes."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.calendar_name = name  # writes NAME and X-WR-CALNAME
    if description_text:
        cal.description = description_text  # writes DESCRIPTION and X-WR-CALDESC
    if url:
        cal.add("url", url)
    cal.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(refresh))
    parts: list[bytes] = []
    timed = [o.start for o in occurrences if isinstance(o.start, datetime)]
    if timed:
        first = date(min(timed).year - 1, 1, 1)
        last = date(max(timed).year + 1, 12, 31)
        for tzid in sorted({o.timezone for o in occurrences if isinstance(o.start, datetime)}):
            parts.append(vtimezone_text(tzid, first, last))
    revisions, extras = revisions or {}, extras or {}
    for o in sorted(occurrences, key=lambda x: (x.instant, x.id)):
        parts.append(event_text(o, stamp, revisions.get(o.id), tuple(extras.get(o.id, ())),
                                tuple(alarms)))
    body = bytes(cal.to_ical())
    end = body.rindex(b"END:VCALENDAR")
    return body[:end] + b"".join(parts) + body[end:]
