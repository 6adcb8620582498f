"""Occurrences -> iCalendar bytes. Pure: the same input gives the same bytes.

Each event's text is rendered once and reused by every feed and attachment that holds it; each
zone's VTIMEZONE once per range (see vtimezone.py). Lines are written by `ics` (icalendar's
bytes, without its per-object cost); a feed is a head, its zones and its events' texts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache

from tracker import evidence
from tracker.calendar import ics
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


def _event_lines(o: Occurrence, stamp: datetime, revision: Revision | None,
                 extra: Sequence[str], alarms: Sequence[timedelta]) -> list[str]:
    """The VEVENT's lines, in icalendar's order (canonical first, then by name); only the
    lines that can be long are folded."""
    fold, text = ics.fold, ics.text
    title = text(summary(o))
    end = o.start if isinstance(o.start, datetime) else o.start + timedelta(days=1)
    changed = ics.utc(revision.modified if revision else stamp)
    out = ["BEGIN:VEVENT", fold("SUMMARY:" + title), ics.moment("DTSTART", o.start),
           ics.moment("DTEND", end), "DTSTAMP:" + changed, fold("UID:" + text(uid(o))),
           f"SEQUENCE:{revision.sequence if revision else 0}",
           fold("CATEGORIES:" + ",".join([text(c) for c in (o.kind.value, *o.tags)])),
           fold("DESCRIPTION:" + text(description(o, extra)))]
    if revision is not None:
        out.append("LAST-MODIFIED:" + changed)
    out += ["STATUS:" + ical_status(o), "TRANSP:TRANSPARENT"]
    if o.url:
        out.append(fold("URL:" + o.url))
    for before in alarms:
        out += ["BEGIN:VALARM", "ACTION:DISPLAY", fold("DESCRIPTION:" + title),
                "TRIGGER:" + ics.duration(-before),
                fold("UID:" + text(f"{o.id}/alarm/{int(before.total_seconds())}@{UID_DOMAIN}")),
                "END:VALARM"]
    out.append("END:VEVENT\r\n")
    return out


def event_bytes(o: Occurrence, stamp: datetime, revision: Revision | None,
                extra: Sequence[str] = (), alarms: Sequence[timedelta] = ()) -> bytes:
    """One event's iCalendar bytes; DTSTAMP is its last change, never the clock."""
    return "\r\n".join(_event_lines(o, stamp, revision, extra, alarms)).encode()


@lru_cache(maxsize=200_000)
def event_text(o: Occurrence, stamp: datetime, revision: Revision | None,
               extra: tuple[str, ...], alarms: tuple[timedelta, ...]) -> bytes:
    """event_bytes(), rendered once for every feed and attachment that holds the event."""
    return event_bytes(o, stamp, revision, extra, alarms)


def head(name: str, description_text: str = "", url: str = "",
         refresh: timedelta = timedelta(hours=12)) -> bytes:
    """A VCALENDAR's opening lines, up to its first component."""
    every = ics.duration(refresh)
    out = ["BEGIN:VCALENDAR\r\n", "VERSION:2.0\r\n", f"PRODID:{PRODID}\r\n",
           "CALSCALE:GREGORIAN\r\n", "METHOD:PUBLISH\r\n"]
    if description_text:  # icalendar escapes DESCRIPTION only; kept byte for byte
        out += [ics.line("DESCRIPTION", ics.text(description_text)),
                ics.line("X-WR-CALDESC", description_text)]
    out += [ics.line("NAME", name), ics.line("X-WR-CALNAME", name),
            ics.line("REFRESH-INTERVAL;VALUE=DURATION", every)]
    if url:
        out.append(ics.line("URL", url))
    out.append(ics.line("X-PUBLISHED-TTL", every))
    return "".join(out).encode()


TAIL = b"END:VCALENDAR\r\n"


def zones(tzids: Iterable[str], first_year: int, last_year: int) -> list[bytes]:
    """The VTIMEZONEs of a feed: one per zone of its timed events, covering a year either side
    of the (local) years of the first and the last of them."""
    first, last = date(first_year - 1, 1, 1), date(last_year + 1, 12, 31)
    return [vtimezone_text(tzid, first, last) for tzid in sorted(set(tzids))]


def assemble(top: bytes, tz_parts: Sequence[bytes], texts: Iterable[bytes | memoryview]) \
        -> bytes:
    """A whole calendar from its head, zones and event texts (in the one order)."""
    return b"".join((top, *tz_parts, *texts, TAIL))


def calendar(occurrences: Sequence[Occurrence], name: str, stamp: datetime,
             revisions: Mapping[str, Revision] | None = None, description_text: str = "",
             extras: Mapping[str, Sequence[str]] | None = None,
             alarms: Sequence[timedelta] = (), url: str = "",
             refresh: timedelta = timedelta(hours=12)) -> bytes:
    """A whole VCALENDAR with one VTIMEZONE per zone used; equal input gives equal bytes."""
    timed = [o.start for o in occurrences if isinstance(o.start, datetime)]
    tz_parts: list[bytes] = []
    if timed:
        tz_parts = zones((o.timezone for o in occurrences if isinstance(o.start, datetime)),
                         min(timed).year, max(timed).year)
    revisions, extras = revisions or {}, extras or {}
    ordered = sorted(occurrences, key=lambda x: (x.instant, x.id))
    texts = (event_text(o, stamp, revisions.get(o.id), tuple(extras.get(o.id, ())),
                        tuple(alarms)) for o in ordered)
    return assemble(head(name, description_text, url, refresh), tz_parts, texts)
