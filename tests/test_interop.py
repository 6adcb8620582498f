"""The feeds as independent readers see them: ical.js (Thunderbird), python `ical` (strict),
recurring-ical-events, vobject and a real CalDAV server (Radicale). Every expected instant
comes from the zones' rules: 17:00 Brussels is 16:00Z in winter (CET) and 15:00Z in summer
(CEST); 17:00 New York is 22:00Z in winter (EST) and 21:00Z in summer (EDT)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import caldav
import pytest
import recurring_ical_events
from ical.calendar_stream import IcsCalendarStream
from ical.timezone import IcsTimezoneInfo
from icalendar import Calendar

from tests.feedkit import (
    AIF_INSTANTS,
    CUTOFF1,
    CUTOFF3,
    WORK_PROGRAMME,
    WORLD_INSTANTS,
    build,
    calendar_objects,
    ical_js,
    radicale,
    synced,
    utc,
    vobject_read,
    world_seeds,
)

HALF_HOUR = timedelta(minutes=30)


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """Feeds built from rule files in New York, Sydney and Kolkata time."""
    out = tmp_path / "out"
    build(synced(tmp_path, world_seeds(tmp_path), utc(2005, 1, 1)), out)
    return out


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ----------------------------------------------------------------------------- ical.js

@pytest.mark.parametrize("feed", ["all.ics", "calls/ai-factories.ics"])
def test_icaljs_reads_brussels_cutoffs_at_the_right_utc_instant(eu: Path, feed: str) -> None:
    seen = ical_js(eu / feed)
    for uid, instant in AIF_INSTANTS.items():
        assert seen[uid]["start_utc"] == instant, uid
        assert seen[uid]["is_date"] is False
        assert seen[uid]["zone"] == "Europe/Brussels"  # resolved from the feed, not floating
    first, third = seen[CUTOFF1], seen[CUTOFF3]
    assert (first["status"], first["sequence"]) == ("CONFIRMED", 0)
    assert "(tentative)" not in first["summary"]
    assert (third["status"], third["sequence"]) == ("TENTATIVE", 0)
    assert third["summary"].endswith("cut-off 3 (derived)")
    milestone = seen[WORK_PROGRAMME]
    assert milestone["is_date"] is True and milestone["date"] == "2024-07-26"
    assert milestone["start_utc"] is None


def test_icaljs_reads_other_zones_at_the_right_utc_instant(world: Path) -> None:
    seen = ical_js(world / "all.ics")
    for uid, instant in WORLD_INSTANTS.items():
        assert seen[uid]["start_utc"] == instant, uid
    assert seen["us-example/cutoff/2025-07-15@grant-tracker"]["zone"] == "America/New_York"
    assert seen["au-example/cutoff/2025-07-15@grant-tracker"]["zone"] == "Australia/Sydney"
    # the per-call feed carries its own zone and reads the same
    alone = ical_js(world / "calls" / "us-2007.ics")
    for uid, instant in WORLD_INSTANTS.items():
        if uid.startswith("us-2007/"):
            assert alone[uid]["start_utc"] == instant, uid


def test_icaljs_harness_gets_zones_only_from_the_feed(eu: Path, tmp_path: Path) -> None:
    """Without its VTIMEZONE a TZID is floating for ical.js: the checks above really test the
    feed's VTIMEZONE, not a zone database bundled with the harness."""
    text = (eu / "calls" / "ai-factories.ics").read_bytes()
    stripped = re.sub(rb"BEGIN:VTIMEZONE\r\n.*?END:VTIMEZONE\r\n", b"", text, flags=re.S)
    assert b"VTIMEZONE" not in stripped and b"TZID=Europe/Brussels" in stripped
    path = tmp_path / "no-zone.ics"
    path.write_bytes(stripped)
    assert ical_js(path)[CUTOFF1]["zone"] == "floating"


# ----------------------------------------------------------------------------- python `ical`

def _ical_instants(path: Path) -> dict[str, str | date]:
    """uid -> UTC instant or day, as `ical` reads them. `ical` takes a TZID it knows from the
    system's zone data, so the feed's own VTIMEZONE is checked separately: read through it, the
    local time must give the same instant. (`ical` 14 ignores an observance that has neither
    RRULE nor RDATE, so that check needs a zone with transitions; Asia/Kolkata has none.)"""
    cal = IcsCalendarStream.calendar_from_ics(path.read_text(encoding="utf-8"))
    zones = {tz.tz_id: IcsTimezoneInfo.from_timezone(tz) for tz in cal.timezones
             if any(o.rrule or o.rdate for o in [*tz.standard, *tz.daylight])}
    out: dict[str, str | date] = {}
    for ev in cal.events:
        start = ev.dtstart
        assert ev.uid is not None
        if isinstance(start, datetime):
            assert start.tzinfo is not None, f"{ev.uid} is floating"
            own = zones.get(str(start.tzinfo))
            if own is not None:
                assert iso(start.replace(tzinfo=own)) == iso(start), ev.uid
            out[ev.uid] = iso(start)
        else:
            assert start is not None
            out[ev.uid] = start
    return out


def test_ical_strict_parser_reads_every_feed(eu: Path, world: Path) -> None:
    for out in (eu, world):
        for path in sorted(out.rglob("*.ics")):
            cal = IcsCalendarStream.calendar_from_ics(path.read_text(encoding="utf-8"))
            assert cal.events, path


def test_ical_reads_the_instants_through_the_feed_vtimezone(eu: Path, world: Path) -> None:
    seen = _ical_instants(eu / "all.ics")
    for uid, instant in AIF_INSTANTS.items():
        assert seen[uid] == instant, uid
    assert seen[WORK_PROGRAMME] == date(2024, 7, 26)
    seen = _ical_instants(world / "all.ics")
    for uid, instant in WORLD_INSTANTS.items():
        assert seen[uid] == instant, uid


# ------------------------------------------------------------------------- recurring-ical-events

def _between(path: Path, start: datetime | date, end: datetime | date) -> dict[str, object]:
    cal = Calendar.from_ical(path.read_bytes())
    found = recurring_ical_events.of(cal).between(start, end)
    uids = [str(e["UID"]) for e in found]
    assert len(uids) == len(set(uids)), "an event came out twice"
    return {str(e["UID"]): e["DTSTART"].dt for e in found}


def test_recurring_ical_events_finds_cutoffs_in_utc_windows(eu: Path) -> None:
    feed = eu / "all.ics"
    nov = _between(feed, utc(2024, 11, 4, 15, 30), utc(2024, 11, 4, 16, 30))
    assert list(nov) == [CUTOFF1]
    assert iso(nov[CUTOFF1]) == "2024-11-04T16:00:00Z"  # type: ignore[arg-type]
    may = _between(feed, utc(2025, 5, 4, 14, 30), utc(2025, 5, 4, 15, 30))
    assert list(may) == [CUTOFF3]
    assert iso(may[CUTOFF3]) == "2025-05-04T15:00:00Z"  # type: ignore[arg-type]
    # an hour later is where a zone stuck on CET all year would put it
    assert _between(feed, utc(2025, 5, 4, 15, 30), utc(2025, 5, 4, 16, 30)) == {}
    day = _between(feed, date(2024, 7, 26), date(2024, 7, 27))
    assert day == {WORK_PROGRAMME: date(2024, 7, 26)}
    # every event once over the whole range: nothing recurs by accident
    everything = _between(feed, date(2000, 1, 1), date(2040, 1, 1))
    assert len(everything) == (eu / "all.ics").read_bytes().count(b"BEGIN:VEVENT")


def test_recurring_ical_events_other_zones(world: Path) -> None:
    feed = world / "all.ics"
    for uid, instant in WORLD_INSTANTS.items():
        moment = datetime.fromisoformat(instant.replace("Z", "+00:00"))
        found = _between(feed, moment - HALF_HOUR, moment + HALF_HOUR)
        assert list(found) == [uid], instant


# ----------------------------------------------------------------------------- vobject

def test_vobject_reads_the_feed_vtimezones(eu: Path, world: Path) -> None:
    seen = vobject_read(eu / "all.ics")
    for uid, instant in AIF_INSTANTS.items():
        assert seen[uid]["start_utc"] == instant, uid
        # the zone was built from the feed's VTIMEZONE (dateutil's tzical), not taken from pytz
        assert seen[uid]["tzinfo"].startswith("dateutil."), seen[uid]["tzinfo"]
    assert seen[WORK_PROGRAMME] == {"start_utc": None, "is_date": True, "date": "2024-07-26"}
    seen = vobject_read(world / "all.ics")
    for uid, instant in WORLD_INSTANTS.items():
        assert seen[uid]["start_utc"] == instant, uid


# ----------------------------------------------------------------------------- CalDAV (Radicale)

def _caldav_calendar(url: str, feed: Path) -> Any:
    """A new calendar holding every event of the feed, one calendar object per event."""
    client: Any = caldav.DAVClient(url=url, username="tester",  # type: ignore[operator]
                                   password="unused")
    calendar = client.principal().make_calendar(name="Grant feeds", cal_id="feeds")
    objects = calendar_objects(feed.read_bytes())
    assert len(objects) == feed.read_bytes().count(b"BEGIN:VEVENT")
    for body in objects:
        calendar.save_event(body)
    assert len(calendar.events()) == len(objects)
    return calendar


def _server_search(calendar: Any, start: datetime, end: datetime) -> set[str]:
    """UIDs the SERVER puts in a time range (no client-side filtering)."""
    found = calendar.search(start=start, end=end, event=True, post_filter=False)
    return {str(o.icalendar_component["uid"]) for o in found}


def test_caldav_server_time_range_search_brussels(eu: Path, tmp_path: Path) -> None:
    with radicale(tmp_path / "radicale") as url:
        cal = _caldav_calendar(url, eu / "all.ics")
        assert _server_search(cal, utc(2024, 11, 4, 15, 30), utc(2024, 11, 4, 16, 30)) \
            == {CUTOFF1}
        assert _server_search(cal, utc(2025, 5, 4, 14, 30), utc(2025, 5, 4, 15, 30)) \
            == {CUTOFF3}
        # to the minute: 15:00Z, the instant itself
        assert _server_search(cal, utc(2025, 5, 4, 14, 59), utc(2025, 5, 4, 15, 1)) == {CUTOFF3}
        assert _server_search(cal, utc(2025, 5, 4, 14, 50), utc(2025, 5, 4, 14, 59)) == set()
        assert _server_search(cal, utc(2025, 5, 4, 15, 30), utc(2025, 5, 4, 16, 30)) == set()
        # cut-off 2, moved from 4 Feb to Saturday 1 Feb (CET), is found on its new day only
        assert _server_search(cal, utc(2025, 2, 1, 15, 30), utc(2025, 2, 1, 16, 30)) \
            == {"ai-factories/cutoff/2025-02-04@grant-tracker"}
        assert _server_search(cal, utc(2025, 2, 4, 15, 30), utc(2025, 2, 4, 16, 30)) == set()
        # the all-day milestone covers its whole day
        assert _server_search(cal, utc(2024, 7, 26, 10), utc(2024, 7, 26, 11)) \
            == {WORK_PROGRAMME}


def test_caldav_server_time_range_search_other_zones(world: Path, tmp_path: Path) -> None:
    with radicale(tmp_path / "radicale") as url:
        cal = _caldav_calendar(url, world / "all.ics")
        for uid, instant in WORLD_INSTANTS.items():
            moment = datetime.fromisoformat(instant.replace("Z", "+00:00"))
            hit = _server_search(cal, moment - HALF_HOUR, moment + HALF_HOUR)
            assert hit == {uid}, instant
        # New York summer 17:00 is 21:00Z, not 22:00Z
        assert _server_search(cal, utc(2025, 7, 15, 21, 30), utc(2025, 7, 15, 22, 30)) == set()
