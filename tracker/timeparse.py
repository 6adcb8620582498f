"""Parse what users type for dates, durations and zones; errors say what to write instead."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta

from tracker.errors import UsageError

_DURATION = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$", re.IGNORECASE)


def parse_day(text: str, option: str = "date") -> date:
    """'2024-10-01' -> date; anything else is a UsageError naming the option."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option}: '{text}' is not a date; write YYYY-MM-DD, "
                         "e.g. 2024-10-01") from None
    if not 1900 <= day.year <= 2199:
        raise UsageError(f"{option}: {day} is outside the years 1900-2199")
    return day


def parse_within(text: str, today: date) -> date:
    """'90d', '12w', '6m', '1y' -> the last day of that window from `today`."""
    m = _DURATION.match(text)
    if not m:
        raise UsageError(f"--within: '{text}' is not a duration; write e.g. 90d, 12w, 6m or 1y")
    n, unit = int(m.group(1)), m.group(2).lower()
    try:
        if unit == "d":
            result: date = today + timedelta(days=n)
        elif unit == "w":
            result = today + timedelta(weeks=n)
        else:
            result = today + (relativedelta(months=n) if unit == "m" else relativedelta(years=n))
    except (OverflowError, ValueError):
        result = date(2199, 12, 31)
    return min(result, date(2199, 12, 31))


def parse_zone(name: str, option: str = "--tz") -> ZoneInfo:
    """An IANA zone, or a UsageError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"{option}: unknown time zone '{name}'; use an IANA name such as "
                         "Europe/Brussels or America/New_York") from None


def start_of_day(day: date, zone: ZoneInfo) -> datetime:
    """Midnight of `day` in `zone`: what '--as-of DAY' means."""
    return datetime(day.year, day.month, day.day, tzinfo=zone)


_INTERVAL = re.compile(r"^\s*(\d+)\s*([smh])\s*$", re.IGNORECASE)


def parse_interval(text: str, option: str) -> timedelta:
    """'30s', '5m', '1h' -> timedelta (at least one second)."""
    m = _INTERVAL.match(text)
    if not m or int(m.group(1)) < 1:
        raise UsageError(f"{option}: '{text}' is not an interval; write e.g. 30s, 5m or 1h")
    unit = {"s": "seconds", "m": "minutes", "h": "hours"}[m.group(2).lower()]
    return timedelta(**{unit: int(m.group(1))})
