"""Occurrences -> iCalendar bytes. Pure: the same input gives the same bytes."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import (
    Alarm,
    Calendar,
    Component,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vDuration,
    vRecur,
)

from tracker.models import FuzzyDate, Occurrence, Precision, Revision, Status

PRODID = "-//grant-tracker//tracker//EN"
UID_DOMAIN = "grant-tracker"


@dataclass(frozen=True)
class Transition:
    """A change of UTC offset: at `utc`, from one offset to another."""

    utc: datetime
    before: timedelta
    after: timedelta
    name: str
    dst: bool

    @property
    def local(self) -> datetime:
        """The onset in the local time in force before it (what DTSTART means in VTIMEZONE)."""
        return (self.utc + self.before).replace(tzinfo=None)


def transitions(tzid: str, first: date, last: date) -> list[Transition]:
    """Every offset change of a zone between two days (found by scanning, to the minute)."""
    zone = ZoneInfo(tzid)
    out: list[Transition] = []
    moment = datetime.combine(first, time(12), UTC)
    end = datetime.combine(last, time(12), UTC)
    before = moment.astimezone(zone).utcoffset()
    while moment < end:
        nxt = moment + timedelta(days=1)
        after = nxt.astimezone(zone).utcoffset()
        if after != before and before is not None and after is not None:
            lo, hi = moment, nxt
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(second=0, microsecond=0)
                if mid.astimezone(zone).utcoffset() == before:
                    lo = mid if mid > lo else lo + timedelta(minutes=1)
                else:
                    hi = mid
            local = hi.astimezone(zone)
            out.append(Transition(hi, before, after, local.tzname() or tzid,
                                  bool(local.dst())))
        before = after
        moment = nxt
    return out


def _yearly_rule(items: list[Transition]) -> str | None:
    """'FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU' when every onset follows one yearly pattern."""
    locals_ = [t.local for t in items]
    if len(locals_) < 2:
        return None
    first = locals_[0]
    years = [d.year for d in locals_]
    if years != list(range(years[0], years[0] + len(years))):
        return None
    if any((d.month, d.weekday(), d.time()) != (first.month, first.weekday(), first.time())
           for d in locals_):
        return None
    day = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[first.weekday()]
    if all((d + timedelta(days=7)).month != d.month for d in locals_):
        return f"FREQ=YEARLY;BYMONTH={first.month};BYDAY=-1{day}"
    nth = {(d.day - 1) // 7 + 1 for d in locals_}
    if len(nth) == 1:
        return f"FREQ=YEARLY;BYMONTH={first.month};BYDAY={nth.pop()}{day}"
    return None


def _observance(kind: str, start: datetime, before: timedelta, after: timedelta,
                name: str) -> Component:
    obs: Component = TimezoneDaylight() if kind == "DAYLIGHT" else TimezoneStandard()
    obs.add("dtstart", start)
    obs.add("tzoffsetfrom", before)
    obs.add("tzoffsetto", after)
    obs.add("tzname", name)
    return obs


def vtimezone(tzid: str, first: date, last: date) -> Timezone:
    """A VTIMEZONE read right by ical.js, libical, vobject and Outlook.

    Yearly rules become RRULEs (the most portable form); anything irregular becomes one RDATE
    per line (several parsers read only the first value of a comma-separated RDATE).
    """
    zone = ZoneInfo(tzid)
    tz = Timezone()
    tz.add("tzid", tzid)
    start = datetime.combine(first, time(0))
    offset = start.replace(tzinfo=zone).utcoffset() or timedelta(0)
    is_dst = bool(start.replace(tzinfo=zone).dst())
    tz.add_component(_observance("DAYLIGHT" if is_dst else "STANDARD", start, offset, offset,
                                 start.replace(tzinfo=zone).tzname() or tzid))
    groups: dict[tuple[timedelta, timedelta, str, bool], list[Transition]] = {}
    for t in transitions(tzid, first, last):
        groups.setdefault((t.before, t.after, t.name, t.dst), []).append(t)
    for (before, after, name, dst), items in sorted(groups.items(),
                                                    key=lambda kv: kv[1][0].utc):
        obs = _observance("DAYLIGHT" if dst else "STANDARD", items[0].local, before, after,
                          name)
        rule = _yearly_rule(items)
        if rule is not None:
            if items[-1].utc.year < last.year:  # the pattern stopped inside the range
                rule += f";UNTIL={items[-1].utc:%Y%m%dT%H%M%SZ}"
            obs.add("rrule", vRecur.from_ical(rule))
        else:
            for t in items[1:]:
                obs.add("rdate", t.local)
        tz.add_component(obs)
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


def _shown(value: datetime | date) -> str:
    return value.strftime("%Y-%m-%d %H:%M %Z") if isinstance(value, datetime) else value.isoformat()


def description(o: Occurrence, extra: Sequence[str] = ()) -> str:
    """Plain-text details: status, date (approximate ones said so), move, note, extras, link."""
    status = o.standing
    lines = [f"Status: {status.value}" + (" (not yet confirmed)" if o.tentative and
                                         status is not Status.TENTATIVE else "")]
    if o.precision in (Precision.DAY, Precision.MINUTE):
        lines.append(f"When: {o.when_label()}")
    else:
        lines.append(f"When: {o.when_label()} (approximate: shown on the first day of the "
                     f"{o.precision.value})")
    if o.original is not None:
        lines.append(f"Moved from: {_shown(o.original)}")
    if o.note:
        lines.append(f"Note: {o.note}")
    lines.extend(extra)
    if o.url:
        lines.append(f"Details: {o.url}")
    if o.source and o.source != o.url:
        lines.append(f"Source: {o.source}")
    return "\n".join(lines)


def uid(o: Occurrence) -> str:
    """Permanent UID from the occurrence id."""
    return f"{o.id}@{UID_DOMAIN}"


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
    ev.add("status", "CANCELLED" if o.status is Status.CANCELLED
           else "TENTATIVE" if o.tentative else "CONFIRMED")
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
    timed = [o.start for o in occurrences if isinstance(o.start, datetime)]
    if timed:
        first = date(min(timed).year - 1, 1, 1)
        last = date(max(timed).year + 1, 12, 31)
        for tzid in sorted({o.timezone for o in occurrences if isinstance(o.start, datetime)}):
            cal.add_component(vtimezone(tzid, first, last))
    revisions, extras = revisions or {}, extras or {}
    for o in sorted(occurrences, key=lambda x: (x.instant, x.id)):
        cal.add_component(event(o, stamp, revisions.get(o.id), extras.get(o.id, ()), alarms))
    return bytes(cal.to_ical())


@dataclass(frozen=True)
class FeedSpec:
    """One published feed: its path under /feeds/ (without .ics) and what it holds."""

    path: str
    title: str
    description: str
    calls: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()

    def holds(self, o: Occurrence) -> bool:
        """True when the occurrence belongs in this feed."""
        return ((not self.calls or o.call_id in self.calls)
                and (not self.tags or bool(set(self.tags) & set(o.tags)))
                and (not self.kinds or o.kind.value in self.kinds))


def slug(text: str) -> str:
    """'Horizon Europe' -> 'horizon-europe'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def feed_specs(calls: Sequence[tuple[str, str, Sequence[str], Sequence[str]]]) -> list[FeedSpec]:
    """The standard set from (id, title, tags, programmes) of each call: everything, milestones,
    one per call, one per tag, one per programme."""
    specs = [
        FeedSpec("all", "Grant deadlines — everything",
                 "Every cut-off, opening, closing and milestone tracked."),
        FeedSpec("milestones", "Grant deadlines — milestones",
                 "Policy milestones only.", kinds=("milestone",)),
    ]
    for cid, title, _, _ in sorted(calls):
        specs.append(FeedSpec(f"calls/{cid}", title, f"Dates of {title}.", calls=(cid,)))
    for tag in sorted({t for _, _, tags, _ in calls for t in tags}):
        specs.append(FeedSpec(f"tags/{tag}", f"Grant deadlines — {tag}",
                              f"Everything tagged '{tag}'.", tags=(tag,)))
    programmes: dict[str, tuple[str, list[str]]] = {}
    for cid, _, _, progs in calls:
        for p in progs:
            programmes.setdefault(slug(p), (p, []))[1].append(cid)
    for key, (name, ids) in sorted(programmes.items()):
        specs.append(FeedSpec(f"programmes/{key}", f"Grant deadlines — {name}",
                              f"Calls funded by {name}.", calls=tuple(sorted(ids))))
    return specs
