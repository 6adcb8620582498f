"""The feed files as bytes: what a calendar app receives when it subscribes, and how edits of the
seeds show up in them (same UID, higher SEQUENCE, LAST-MODIFIED, cancelled not dropped)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.feedkit import (
    AIF,
    BASE_URL,
    CUTOFF1,
    CUTOFF3,
    CUTOFF4,
    CUTOFF5,
    SEEDS,
    T1,
    T2,
    WORK_PROGRAMME,
    Comp,
    append,
    build,
    copy_seeds,
    events,
    parse,
    physical_lines,
    read,
    synced,
    world_seeds,
)
from tests.helpers import amendment
from tracker import usecases, userinput
from tracker.calendar import feeds as feedset

STAMP_T1 = "20250115T090000Z"
STAMP_T2 = "20250302T090000Z"
DURATION = re.compile(r"^[+-]?P(\d+W|(?=\d|T\d)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?)$")
OLD = 978_307_200  # 2001-01-01: an mtime no build of today can write

UTF8_RULE = """
id = "utf8-call"
title = "Конкурс «Горизонт Европа» — приём заявок на исследовательские гранты 🇪🇺🚀"
tags = ["utf8"]
timezone = "Europe/Brussels"
opens = 2025-01-01
closes = 2025-12-31

[cutoffs]
dates = [{ date = 2025-06-30, key = "deadline", label = "срок подачи — последний день ☃☃☃" }]

[[milestones]]
id = "results"
title = "Résultats attendus — 結果発表予定 — 🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉"
date = "2026-Q1"
note = "Ω≈ç√∫ åß∂ƒ©˙∆˚¬…æ œ∑®†¥¨ˆøπ ¡™£¢∞§¶•ªº≠ 😀😃😄😁😆😅😂🤣, ; : \\\\ end"
"""


@pytest.fixture
def many(tmp_path: Path) -> list[Path]:
    """Every feed of three stores: the bundled seeds, zones around the world, long UTF-8 text,
    plus the everything-feed with alarms."""
    outs = []
    for name, seeds in (("eu-store", SEEDS), ("world-store", world_seeds(tmp_path)),
                        ("utf8-store", None)):
        if seeds is None:
            seeds = tmp_path / "utf8"
            seeds.mkdir()
            (seeds / "utf8.toml").write_text(UTF8_RULE.lstrip(), encoding="utf-8")
        store = synced(tmp_path / name, seeds)
        build(store, tmp_path / name / "out")
        outs.append(tmp_path / name / "out")
        data = feedset.gather(store)
        alarmed = feedset.render(data, data.specs()[0], userinput.leads(["7d,1d"], "alarm"))
        (tmp_path / name / "out" / "alarmed.ics").write_bytes(alarmed)
    return sorted(p for out in outs for p in out.rglob("*.ics"))


def cutoffs(cal: Comp) -> dict[str, Comp]:
    return {u: e for u, e in events(cal).items() if u.startswith(f"{AIF}/cutoff/")}


# ----------------------------------------------------------------------------- bytes

def test_crlf_line_ends_and_lines_of_at_most_75_octets(many: list[Path]) -> None:
    assert len(many) > 20
    for path in many:
        data = path.read_bytes()
        assert data.startswith(b"BEGIN:VCALENDAR\r\n") and data.endswith(b"END:VCALENDAR\r\n")
        for n, line in enumerate(physical_lines(data), 1):
            assert len(line) <= 75, f"{path.name}:{n} is {len(line)} octets"
            line.decode("utf-8")  # folding never splits a multi-byte character
    utf8 = [p for p in many if p.name == "utf8-call.ics"]
    assert utf8 and max(len(x) for x in physical_lines(utf8[0].read_bytes())) > 60


def test_long_non_ascii_text_survives_folding(many: list[Path]) -> None:
    path = next(p for p in many if p.name == "utf8-call.ics")
    summaries = {e.value("SUMMARY") for e in events(read(path)).values()}
    assert ("Конкурс «Горизонт Европа» — приём заявок на исследовательские гранты 🇪🇺🚀 — "
            "срок подачи — последний день ☃☃☃ (no source)") in summaries


def test_no_property_twice_in_any_component(many: list[Path]) -> None:
    for path in many:
        for comp in read(path).walk():
            names = [p.name for p in comp.props if p.name != "RDATE"]  # RDATE: one per line
            twice = {n for n in names if names.count(n) > 1}
            assert not twice, f"{path.name} {comp.name}: {sorted(twice)}"


def test_calendar_properties(many: list[Path]) -> None:
    for path in many:
        cal = read(path)
        assert cal.value("VERSION") == "2.0"
        assert cal.value("PRODID")
        assert cal.value("NAME") == cal.value("X-WR-CALNAME")
        refresh = cal.one("REFRESH-INTERVAL")
        assert refresh.params == {"VALUE": "DURATION"}, path.name
        assert DURATION.match(refresh.value), refresh.value
        assert DURATION.match(cal.value("X-PUBLISHED-TTL")), path.name
        assert cal.value("X-PUBLISHED-TTL") == refresh.value


def test_every_tzid_has_exactly_one_vtimezone(many: list[Path]) -> None:
    for path in many:
        cal = read(path)
        defined = [z.value("TZID") for z in cal.sub("VTIMEZONE")]
        assert len(defined) == len(set(defined)), path.name
        used = {p.params["TZID"] for ev in cal.sub("VEVENT") for p in ev.props
                if "TZID" in p.params}
        assert used == set(defined), path.name  # none missing, none unused
        for zone in cal.sub("VTIMEZONE"):
            assert zone.sub("STANDARD") or zone.sub("DAYLIGHT")


def test_event_basics(many: list[Path]) -> None:
    for path in many:
        for uid, ev in events(read(path)).items():
            assert uid.endswith("@grant-tracker")
            assert ev.value("TRANSP") == "TRANSPARENT", uid  # deadlines do not block time
            assert re.fullmatch(r"\d{8}T\d{6}Z", ev.value("DTSTAMP")), uid
            assert re.fullmatch(r"\d+", ev.value("SEQUENCE")), uid
            assert ev.value("STATUS") in {"CONFIRMED", "TENTATIVE", "CANCELLED"}
            start, end = ev.one("DTSTART"), ev.one("DTEND")
            assert start.params.keys() == end.params.keys()
            if start.params.get("VALUE") == "DATE":
                day = datetime.strptime(start.value, "%Y%m%d")
                assert (datetime.strptime(end.value, "%Y%m%d") - day).days == 1, uid
            else:
                assert "TZID" in start.params and re.fullmatch(r"\d{8}T\d{6}", start.value)


def test_dtstamp_is_the_sync_time_not_the_clock(eu: Path) -> None:
    for ev in events(read(eu / "all.ics")).values():
        assert ev.value("DTSTAMP") == STAMP_T1
        assert ev.value("LAST-MODIFIED") == STAMP_T1
        assert ev.value("SEQUENCE") == "0"


# ----------------------------------------------------------------------------- what users see

def test_ai_factories_cutoffs(eu: Path) -> None:
    cal = read(eu / "calls" / "ai-factories.ics")
    assert cal.value("X-WR-CALNAME") == "EuroHPC AI Factories calls for expression of interest"
    cuts = cutoffs(cal)
    assert len(cuts) == 5
    first = cuts.pop(CUTOFF1)
    assert first.one("DTSTART").params == {"TZID": "Europe/Brussels"}
    assert first.value("DTSTART") == "20241104T170000"
    assert first.value("STATUS") == "CONFIRMED"
    assert "(tentative)" not in first.value("SUMMARY")
    for uid, ev in cuts.items():  # 'every 3 months' cut-offs are not confirmed
        assert ev.value("STATUS") == "TENTATIVE", uid
        assert ev.value("SUMMARY").endswith(("(derived)", "(reported)")), uid
        assert "How we know: " in ev.value("DESCRIPTION"), uid
    assert cuts[CUTOFF3].value("DTSTART") == "20250504T170000"
    moved = cuts["ai-factories/cutoff/2025-02-04@grant-tracker"]  # the 10 Dec 2024 amendment
    assert moved.value("DTSTART") == "20250201T170000"
    assert "Moved from: 2025-02-04 17:00 CET" in moved.value("DESCRIPTION")
    assert "How we know: reported by europeaninterest.eu" in moved.value("DESCRIPTION")
    assert moved.value("SUMMARY").endswith("(reported)")


def test_all_day_milestone(eu: Path) -> None:
    ev = events(read(eu / "calls" / "ai-factories.ics"))[WORK_PROGRAMME]
    assert ev.one("DTSTART").params == {"VALUE": "DATE"}
    assert (ev.value("DTSTART"), ev.value("DTEND")) == ("20240726", "20240727")


def test_fuzzy_milestones_say_how_precise_they_are(tmp_path: Path) -> None:
    eu = tmp_path / "out"
    build(synced(tmp_path, now=datetime(2025, 11, 1, tzinfo=UTC)), eu)  # all were known
    evs = events(read(eu / "milestones.ics"))
    formal = evs["ai-gigafactories/milestone/formal-call@grant-tracker"]  # date = "2025-Q4"
    assert "(expected Q4 2025)" in formal.value("SUMMARY")
    assert formal.value("STATUS") == "TENTATIVE"
    assert formal.value("DTSTART") == "20251001"  # shown on the period's first day
    data_union = evs["eu-ai-policy/milestone/data-union-strategy@grant-tracker"]  # "2025"
    assert "(expected 2025)" in data_union.value("SUMMARY")
    desk = evs["eu-ai-policy/milestone/ai-act-service-desk@grant-tracker"]  # "2025-10"
    assert "(expected October 2025)" in desk.value("SUMMARY")
    exact = evs["eu-ai-policy/milestone/ai-act-in-force@grant-tracker"]
    assert "expected" not in exact.value("SUMMARY")
    assert all(e.one("DTSTART").params == {"VALUE": "DATE"} for e in evs.values())


def test_alarms_only_when_asked(eu: Path, tmp_path: Path) -> None:
    assert b"BEGIN:VALARM" not in b"".join(p.read_bytes() for p in eu.rglob("*.ics"))
    store = synced(tmp_path / "again")
    data = feedset.gather(store)
    spec = next(s for s in data.specs() if s.path == f"calls/{AIF}")
    cal = parse(feedset.render(data, spec, userinput.leads(["1d,7d"], "alarm")))
    for uid, ev in events(cal).items():
        alarms = ev.sub("VALARM")
        assert sorted(a.value("TRIGGER") for a in alarms) == ["-P1D", "-P7D"], uid
        for a in alarms:
            assert a.value("ACTION") == "DISPLAY"
            assert a.value("DESCRIPTION") == ev.value("SUMMARY")


# ----------------------------------------------------------------------------- stable bytes

def test_same_data_gives_the_same_bytes(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    store = synced(one)
    build(store, one / "out")
    report = build(store, one / "out")
    assert report.written == [] and "all.ics" in report.unchanged
    build(synced(two), two / "out")  # another store, the same seeds, synced at the same moment
    files = sorted(p.relative_to(one / "out") for p in (one / "out").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(two / "out")
                           for p in (two / "out").rglob("*") if p.is_file())
    for rel in files:
        assert (one / "out" / rel).read_bytes() == (two / "out" / rel).read_bytes(), rel


def _published(out: Path) -> dict[Path, tuple[int, int, bytes]]:
    """Every published file (feeds, their .gz copies, index.json): inode, mtime, bytes."""
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
            for p in out.rglob("*") if p.is_file() and ".build" not in p.parts}


def test_build_rewrites_only_changed_files(tmp_path: Path) -> None:
    seeds = copy_seeds(tmp_path)
    store = synced(tmp_path, seeds)
    out = tmp_path / "out"
    build(store, out)
    before = _published(out)
    report = build(store, out)
    assert report.written == []
    assert _published(out) == before  # same files: not rewritten, not even touched
    assert [p.name for p in out.rglob(".*")] == [".build"]  # no temp files left behind
    append(seeds / "eurohpc-ai-factories.toml", """
[[amendments]]
action = "move"
announced = 2025-01-10
cutoff = 2025-08-04
to = 2025-08-11
""")
    changed_at = T1 + timedelta(hours=1)
    usecases.sync(store, [seeds], changed_at)
    report = build(store, out)
    assert "calls/ai-factories.ics" in report.written
    feed = out / "calls" / "ai-factories.ics"
    assert feed.stat().st_mtime == changed_at.timestamp()  # its Last-Modified: the move
    assert "calls/eu-ai-policy.ics" in report.unchanged
    after = _published(out)
    untouched = out / "calls" / "eu-ai-policy.ics"
    for p in (untouched, untouched.with_name(untouched.name + ".gz")):
        assert after[p] == before[p], p
    assert set(report.written) == {p.relative_to(out).as_posix() for p in after
                                   if after[p] != before.get(p) and p.suffix == ".ics"}


def test_index_lists_every_feed(eu: Path) -> None:
    index = json.loads((eu / "index.json").read_text(encoding="utf-8"))
    listed = {f["path"]: f for f in index["feeds"]}
    assert len(listed) == len(index["feeds"])
    on_disk = {p.relative_to(eu).as_posix() for p in eu.rglob("*.ics")}
    assert set(listed) <= on_disk  # every address exists; the index lists one per meaning
    assert {"all.ics", "milestones.ics", "calls/ai-factories.ics",
            "programmes/horizon-europe.ics", "tags/eurohpc.ics"} <= on_disk
    contents = [frozenset(events(read(eu / p))) for p in listed]
    assert len(set(contents)) == len(contents)  # no two listed feeds hold the same events
    for path, entry in listed.items():
        assert entry["url"] == f"{BASE_URL}/feeds/{path}"
        assert entry["webcal"] == f"webcal://grants.example.org/feeds/{path}"
        cal = read(eu / path)
        assert entry["title"] == cal.value("X-WR-CALNAME")
        assert entry["events"] == len(cal.sub("VEVENT"))
        assert cal.value("URL") == entry["url"]


# ----------------------------------------------------------------------------- edits over time

def _edit_and_rebuild(tmp_path: Path, extra: str, replace: tuple[str, str] | None = None) \
        -> tuple[dict[str, Comp], dict[str, Comp]]:
    """AI Factories events before and after an edit of its rule file (synced at T1, then T2)."""
    seeds = copy_seeds(tmp_path)
    store = synced(tmp_path, seeds)
    out = tmp_path / "out"
    build(store, out)
    before = events(read(out / "calls" / "ai-factories.ics"))
    rule = seeds / "eurohpc-ai-factories.toml"
    if replace:
        text = rule.read_text(encoding="utf-8")
        assert replace[0] in text
        rule.write_text(text.replace(replace[0], replace[1]), encoding="utf-8")
    if extra:
        append(rule, extra)
    report = usecases.sync(store, [seeds], T2)
    assert report.wrote
    build(store, out)
    return before, events(read(out / "calls" / "ai-factories.ics"))


def test_moved_cutoff_keeps_its_uid_with_a_higher_sequence(tmp_path: Path) -> None:
    before, after = _edit_and_rebuild(tmp_path, amendment(
        "move", announced=date(2025, 3, 1), cutoff=date(2025, 8, 4), to=date(2025, 8, 11),
        note="Moved by a week."))
    assert set(after) == set(before)  # no new UID for the new date
    old, new = before[CUTOFF4], after[CUTOFF4]
    assert old.value("DTSTART") == "20250804T170000"
    assert new.value("DTSTART") == "20250811T170000"
    assert new.one("DTSTART").params == {"TZID": "Europe/Brussels"}
    assert int(new.value("SEQUENCE")) > int(old.value("SEQUENCE"))
    assert new.value("LAST-MODIFIED") == STAMP_T2
    assert new.value("DTSTAMP") == STAMP_T2
    assert "Moved from: 2025-08-04 17:00 CEST" in new.value("DESCRIPTION")
    # a move without tentative = true makes the date firm (seeds/README.md)
    assert new.value("STATUS") == "CONFIRMED"
    assert "(tentative)" not in new.value("SUMMARY")
    # what did not change keeps its SEQUENCE and stamps, so clients leave it alone
    for uid in (CUTOFF1, CUTOFF3, CUTOFF5):
        for name in ("SEQUENCE", "DTSTAMP", "LAST-MODIFIED", "DTSTART"):
            assert after[uid].value(name) == before[uid].value(name), (uid, name)


def test_cancelled_cutoff_stays_with_status_cancelled(tmp_path: Path) -> None:
    before, after = _edit_and_rebuild(tmp_path, amendment(
        "cancel", announced=date(2025, 3, 1), cutoff=date(2025, 11, 4)))
    ev = after[CUTOFF5]
    assert ev.value("STATUS") == "CANCELLED"
    assert ev.value("SUMMARY").endswith("(cancelled)")
    assert int(ev.value("SEQUENCE")) > int(before[CUTOFF5].value("SEQUENCE"))
    assert ev.value("LAST-MODIFIED") == STAMP_T2
    assert ev.value("DTSTART") == before[CUTOFF5].value("DTSTART")


def test_cutoff_removed_from_the_rule_comes_out_cancelled(tmp_path: Path) -> None:
    """The recurrence shortened so that the 4 Nov 2025 cut-off no longer exists."""
    before, after = _edit_and_rebuild(tmp_path, "",
                                      ("until = 2025-12-31", "until = 2025-09-30"))
    assert before[CUTOFF5].value("STATUS") == "TENTATIVE"
    ev = after[CUTOFF5]
    assert ev.value("STATUS") == "CANCELLED"
    assert ev.value("SUMMARY").endswith("(cancelled)")
    assert "removed from the call's schedule" in ev.value("DESCRIPTION")
    assert int(ev.value("SEQUENCE")) > int(before[CUTOFF5].value("SEQUENCE"))
    assert ev.value("LAST-MODIFIED") == STAMP_T2
    assert after[CUTOFF4].value("STATUS") == "TENTATIVE"
    assert after[CUTOFF4].value("SEQUENCE") == before[CUTOFF4].value("SEQUENCE")


# ----------------------------------------------------------------------------- command line
