"""The direct content-line writer (tracker.calendar.ics) gives exactly icalendar's bytes: every
event and calendar is compared with the same thing built as icalendar components."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Alarm, Calendar, Event, vDuration
from icalendar.parser.string import _foldline

from tests.feedkit import synced, world_seeds
from tracker.calendar import events, feeds, ics
from tracker.models import Evidence, Kind, Occurrence, Precision, Revision, Status, TimeBasis

ALARMS = (timedelta(days=7), timedelta(hours=3), timedelta(days=1, minutes=30))


def reference_event(o: Occurrence, stamp: datetime, revision: Revision | None,
                    extra: Sequence[str], alarms: Sequence[timedelta]) -> bytes:
    """The event as icalendar components write it (how the tracker rendered it before)."""
    ev = Event()
    ev.add("uid", events.uid(o))
    ev.add("dtstamp", (revision.modified if revision else stamp).astimezone(UTC))
    ev.add("dtstart", o.start)
    ev.add("dtend", o.start if isinstance(o.start, datetime) else o.start + timedelta(days=1))
    ev.add("summary", events.summary(o))
    ev.add("description", events.description(o, extra))
    if o.url:
        ev.add("url", o.url)
    ev.add("status", events.ical_status(o))
    ev.add("transp", "TRANSPARENT")
    ev.add("categories", [o.kind.value, *o.tags])
    ev.add("sequence", revision.sequence if revision else 0)
    if revision is not None:
        ev.add("last-modified", revision.modified.astimezone(UTC))
    for before in alarms:
        alarm = Alarm()
        alarm.add("uid", f"{o.id}/alarm/{int(before.total_seconds())}@{events.UID_DOMAIN}")
        alarm.add("action", "DISPLAY")
        alarm.add("description", events.summary(o))
        alarm.add("trigger", -before)
        ev.add_component(alarm)
    return bytes(ev.to_ical())


def reference_calendar(items: Sequence[Occurrence], name: str, revisions: Mapping[str, Revision],
                       description: str, extras: Mapping[str, Sequence[str]],
                       alarms: Sequence[timedelta], url: str) -> bytes:
    """A whole feed as icalendar writes it, with the tracker's own VTIMEZONEs."""
    cal = Calendar()
    for key, value in (("prodid", events.PRODID), ("version", "2.0"),
                       ("calscale", "GREGORIAN"), ("method", "PUBLISH")):
        cal.add(key, value)
    cal.calendar_name = name
    if description:
        cal.description = description
    if url:
        cal.add("url", url)
    refresh = timedelta(hours=12)
    cal.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(refresh))
    timed = [o.start for o in items if isinstance(o.start, datetime)]
    parts = events.zones([o.timezone for o in items if isinstance(o.start, datetime)],
                         min(timed).year, max(timed).year) if timed else []
    for o in sorted(items, key=lambda x: (x.instant, x.id)):
        parts.append(reference_event(o, feeds.EPOCH, revisions.get(o.id),
                                     extras.get(o.id, ()), alarms))
    body = bytes(cal.to_ical())
    end = body.rindex(b"END:VCALENDAR")
    return body[:end] + b"".join(parts) + body[end:]


def _same_as_icalendar(data: feeds.FeedData) -> None:
    for o in data.items:
        for alarms in ((), ALARMS):
            extra = data.extras.get(o.id, [])
            assert events.event_bytes(o, feeds.EPOCH, data.revisions.get(o.id), extra, alarms) \
                == reference_event(o, feeds.EPOCH, data.revisions.get(o.id), extra, alarms), o.id
    for spec in data.specs():
        items = data.holds(spec)
        url = feeds.feed_url("https://grants.example.org", spec)
        assert feeds.render(data, spec, ALARMS, url) == reference_calendar(
            items, spec.title, data.revisions, spec.description, data.extras, ALARMS, url)


def test_bundled_calls_are_written_as_icalendar_writes_them(tmp_path: Path) -> None:
    _same_as_icalendar(feeds.gather(synced(tmp_path)))


def test_calls_around_the_world_are_written_as_icalendar_writes_them(tmp_path: Path) -> None:
    seeds = world_seeds(tmp_path)
    _same_as_icalendar(feeds.gather(synced(tmp_path, seeds, datetime(2005, 1, 1, tzinfo=UTC))))


WORDS = st.text(st.sampled_from(list("ab ,;:\\^\n\r\"é—😀ж€\t")), max_size=160)
ZONES = st.sampled_from(["Europe/Brussels", "UTC", "America/New_York", "Asia/Kolkata",
                         "Australia/Lord_Howe", "Pacific/Chatham"])


@settings(max_examples=300, deadline=None)
@given(title=WORDS, note=WORDS, source=WORDS, url=st.sampled_from(["", "https://a.eu/x?a=1,b"]),
       tags=st.lists(WORDS.filter(bool), max_size=3), zone=ZONES, timed=st.booleans(),
       day=st.dates(date(1990, 1, 1), date(2090, 12, 31)), minute=st.integers(0, 1439),
       sequence=st.integers(0, 10**6), extra=st.lists(WORDS, max_size=2),
       lead=st.timedeltas(timedelta(seconds=1), timedelta(days=400)))
def test_any_text_is_escaped_and_folded_as_icalendar_does(
        title: str, note: str, source: str, url: str, tags: list[str], zone: str, timed: bool,
        day: date, minute: int, sequence: int, extra: list[str], lead: timedelta) -> None:
    start: datetime | date = day
    if timed:
        start = datetime(day.year, day.month, day.day, minute // 60, minute % 60,
                         tzinfo=ZoneInfo(zone))
    o = Occurrence(id=f"c/{title[:20]}", call_id="c", call_title=title, kind=Kind.CUTOFF,
                   title=title, start=start, timezone=zone, status=Status.CONFIRMED,
                   precision=Precision.MINUTE if timed else Precision.DAY, url=url,
                   source=source, note=note, tags=tuple(tags), evidence=Evidence.REPORTED,
                   time_basis=TimeBasis.ASSUMED if timed else None)
    revision = Revision(sequence, datetime(2025, 1, 15, 9, 0, 7, tzinfo=UTC))
    for rev in (revision, None):
        assert events.event_bytes(o, feeds.EPOCH, rev, extra, (lead,)) == \
            reference_event(o, feeds.EPOCH, rev, extra, (lead,))
    assert ics.duration(-lead) == bytes(vDuration(-lead).to_ical()).decode()  # type: ignore[no-untyped-call]
    logical = f"X:{ics.text(title + note)}"
    assert ics.fold(logical) == _foldline(logical)
