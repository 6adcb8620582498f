"""Every parser of what people type: days, durations, lists, zones, addresses, kinds.

One grammar everywhere (options, config values, URL parameters). Durations are a number and a
unit: `30s`, `30min`, `12h`, `90d`, `12w`, `6mo`, `1y` (`m` alone is refused: minutes or
months?). Lists are repeatable options and comma-separated values alike. Errors say what to
write instead, naming the option.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.utils import parseaddr
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta

from tracker.errors import NotFoundError, UsageError
from tracker.models import Every, Kind

FIRST_YEAR, LAST_YEAR = 1900, 2199
UNITS = {"s": "seconds", "sec": "seconds", "min": "minutes", "h": "hours", "d": "days",
         "w": "weeks", "mo": "months", "y": "years"}
_DURATION = re.compile(r"^\s*(\d{1,7})\s*([a-z]+)\s*$", re.IGNORECASE)
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                    r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
DURATION_HELP = "write a number and a unit: 30s, 30min, 12h, 90d, 12w, 6mo or 1y"
MAX_DAYS = 3660  # ten years: more would overflow the dates of every later digest


@dataclass(frozen=True)
class Duration:
    """A number of units, as typed ('6mo')."""

    count: int
    unit: str  # seconds | minutes | hours | days | weeks | months | years

    @property
    def fixed(self) -> timedelta | None:
        """As a timedelta, when the unit has a fixed length (not months or years)."""
        if self.unit in ("months", "years"):
            return None
        return timedelta(**{self.unit: self.count})

    def after(self, day: date) -> date:
        """The day this long after `day` (months and years by the calendar), capped at 2199."""
        try:
            if self.fixed is not None:
                result: date = day + timedelta(days=self.fixed.days)
            else:
                result = day + relativedelta(**{self.unit: self.count})
        except (OverflowError, ValueError):
            return date(LAST_YEAR, 12, 31)
        return min(result, date(LAST_YEAR, 12, 31))


def duration(text: str, option: str) -> Duration:
    """'90d', '6mo', '30min' -> Duration; 'm' alone, unknown units or nonsense: UsageError."""
    m = _DURATION.match(text)
    if not m:
        raise UsageError(f"{option}: '{text}' is not a duration; {DURATION_HELP}")
    unit = m.group(2).lower()
    if unit == "m":
        raise UsageError(f"{option}: '{text}' is ambiguous; write {m.group(1)}min for minutes "
                         f"or {m.group(1)}mo for months")
    if unit not in UNITS:
        raise UsageError(f"{option}: unknown unit '{unit}' in '{text}'; {DURATION_HELP}")
    return Duration(int(m.group(1)), UNITS[unit])


def interval(text: str, option: str) -> timedelta:
    """A fixed length of at least one second ('30s', '5min', '1h', '1d')."""
    d = duration(text, option)
    if d.fixed is None or d.count < 1:
        raise UsageError(f"{option}: '{text}' must be a fixed length of at least 1s "
                         "(s, min, h, d or w)")
    return d.fixed


def days(text: str, option: str) -> int:
    """A whole number of days ('60d', '8w'; a bare number is days), 1 to MAX_DAYS."""
    d = duration(text + "d" if text.strip().isdigit() else text, option)
    if d.unit not in ("days", "weeks") or d.count < 1:
        raise UsageError(f"{option}: '{text}' must be days or weeks, e.g. 60d or 8w")
    n = d.count * (7 if d.unit == "weeks" else 1)
    if n > MAX_DAYS:
        raise UsageError(f"{option}: '{text}' is more than {MAX_DAYS} days (10 years)")
    return n


def within(text: str, today: date) -> date:
    """--within: the last day of a window of days, weeks, months or years from `today`."""
    d = duration(text, "--within")
    if d.unit in ("seconds", "minutes", "hours"):
        raise UsageError(f"--within: '{text}' is shorter than a day; write e.g. 90d or 6mo")
    return d.after(today)


def leads(values: Iterable[str], option: str, most: int = 5) -> list[timedelta]:
    """Lead times for reminders ('1d,2h,30min'), longest first, at most `most`."""
    out = {interval(v, option) for v in items(values)}
    if len(out) > most:
        raise UsageError(f"{option}: at most {most} lead times")
    if any(v > timedelta(days=MAX_DAYS) for v in out):
        raise UsageError(f"{option}: a lead time is more than {MAX_DAYS} days")
    return sorted(out, reverse=True)


def items(values: Iterable[str]) -> tuple[str, ...]:
    """Repeated options and comma-separated values alike: ('a,b', 'c') -> ('a', 'b', 'c')."""
    return tuple(p.strip() for v in values for p in v.split(",") if p.strip())


def kinds(values: Iterable[str], option: str = "--kind") -> tuple[Kind, ...]:
    """Kind names (repeatable, comma-separated), with a clear error for a wrong one."""
    out: list[Kind] = []
    for name in items(values):
        try:
            out.append(Kind(name.lower()))
        except ValueError:
            raise UsageError(f"{option}: unknown kind '{name}'; use one of "
                             f"{', '.join(k.value for k in Kind)}") from None
    return tuple(dict.fromkeys(out))


def day(text: str, option: str = "date") -> date:
    """'2024-10-01' -> date; anything else is a UsageError naming the option."""
    try:
        value = date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option}: '{text}' is not a date; write YYYY-MM-DD, "
                         "e.g. 2024-10-01") from None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise UsageError(f"{option}: {value} is outside the years {FIRST_YEAR}-{LAST_YEAR}")
    return value


def zone(name: str, option: str = "--tz") -> ZoneInfo:
    """An IANA zone, or a UsageError."""
    try:
        if len(name) > 64:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UsageError(f"{option}: unknown time zone '{name[:64]}'; use an IANA name such as "
                         "Europe/Brussels or America/New_York") from None


def time_of_day(text: str, option: str = "--at") -> time:
    """'08:00' -> time (minutes only)."""
    try:
        value = time.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option}: '{text}' is not a time of day; write HH:MM, e.g. "
                         "08:00") from None
    return value.replace(second=0, microsecond=0, tzinfo=None)


def every(text: str) -> Every:
    """daily, weekly or monthly."""
    try:
        return Every(text.strip().lower())
    except ValueError:
        raise UsageError(f"--every: '{text}' is not daily, weekly or monthly") from None


def email(text: str) -> str:
    """A plain address (no display name), domain lower-cased; UsageError otherwise."""
    address = text.strip()
    name, parsed = parseaddr(address)
    if name or parsed != address or not _EMAIL.match(address) or len(address) > 254:
        raise UsageError(f"'{text[:80]}' is not an email address; write it as name@example.org")
    local, domain = address.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def start_of_day(value: date, tz: ZoneInfo) -> datetime:
    """Midnight of `value` in `tz`: what '--as-of DAY' means."""
    return datetime(value.year, value.month, value.day, tzinfo=tz)


def call_id(known: Sequence[tuple[str, Sequence[str]]], name: str) -> str:
    """The call id for an id or official identifier, or NotFoundError with a suggestion."""
    low = name.strip().lower()
    for cid, identifiers in known:
        if low == cid.lower() or low in (i.lower() for i in identifiers):
            return cid
    names = [c for c, _ in known] + [i for _, ids in known for i in ids]
    near = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    hint = f" Did you mean '{near[0]}'?" if near else " 'tracker calls' lists them."
    raise NotFoundError(f"No call with id '{name[:80]}'.{hint}")
