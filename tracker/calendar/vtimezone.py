"""Our own VTIMEZONE writer, from zoneinfo, because icalendar's is read wrong by real clients.

icalendar's generated zones put every transition on one comma-separated RDATE line (ical.js,
vobject and Radicale read only the first value: Brussels becomes +01:00 all year) and cover
1970-2038 only. Yearly patterns become RRULEs here (the most portable form, Outlook included);
anything irregular becomes one RDATE per line. Each zone is built once per range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Component, Timezone, TimezoneDaylight, TimezoneStandard, vRecur


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
    """Every offset change of a zone between two days (found by scanning, to the minute), a
    year at a time: each year of each zone is scanned once however many feeds need it."""
    out: list[Transition] = []
    for year in range(first.year, last.year + 1):
        start = max(first, date(year, 1, 1))
        end = min(last, date(year + 1, 1, 1))
        out += _scan(tzid, start, end)
    return out


@lru_cache(maxsize=4096)
def _scan(tzid: str, first: date, last: date) -> tuple[Transition, ...]:
    """The offset changes between noon UTC of two days, found day by day, then to the minute."""
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
    return tuple(out)


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


@lru_cache(maxsize=4096)
def vtimezone_text(tzid: str, first: date, last: date) -> bytes:
    """The VTIMEZONE of `tzid` for the years of `first` to `last`, as iCalendar bytes."""
    return bytes(vtimezone(tzid, first, last).to_ical())


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


