"""`feeds build` as a static server sees the folder: X.ics and X.ics.gz (the same bytes) with the
feed's Last-Modified as mtime, rewritten only when the content changes, and "all" as a window."""

from __future__ import annotations

import gzip
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.feedkit import (
    AIF,
    CUTOFF1,
    CUTOFF3,
    T1,
    T2,
    build,
    copy_seeds,
    events,
    parse,
    read,
    synced,
    utc,
)
from tracker import store as db
from tracker import usecases
from tracker.calendar import feeds

STATE = Path(".build") / "state.json"


def feeds_in(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.ics") if ".build" not in p.parts)


def files_in(out: Path) -> dict[str, tuple[bytes, int]]:
    """Every published file's bytes and mtime (seconds; a feed's is its Last-Modified, the
    index's is when it was written, so it is left out)."""
    return {p.relative_to(out).as_posix(): (p.read_bytes(), int(p.stat().st_mtime)
                                            if p.suffix != ".json" else 0)
            for p in out.rglob("*") if p.is_file() and ".build" not in p.parts}


def newest_change(feed: Path) -> int:
    """The latest LAST-MODIFIED of a feed's events (2000-01-01 for an empty feed)."""
    stamps = [datetime.strptime(ev.value("LAST-MODIFIED"), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
              for ev in events(read(feed)).values()]
    return int(max(stamps, default=feeds.EPOCH).timestamp())


def test_each_feed_has_its_gzip_copy_and_its_last_modified_as_mtime(eu: Path) -> None:
    found = feeds_in(eu)
    assert len(found) > 10
    for feed in found:
        copy = feed.with_name(feed.name + ".gz")
        assert gzip.decompress(copy.read_bytes()) == feed.read_bytes(), feed
        assert feed.stat().st_mtime == copy.stat().st_mtime == newest_change(feed), feed


def test_a_feed_that_only_lost_an_event_still_moves_its_last_modified(tmp_path: Path) -> None:
    seeds = copy_seeds(tmp_path)
    known, later = utc(2025, 11, 1), utc(2025, 11, 2)  # the AI Gigafactories call is known
    store = synced(tmp_path, seeds, known)
    out = tmp_path / "out"
    build(store, out)
    tag_feed, call_feed = out / "tags" / "ai-infrastructure.ics", out / "calls" / f"{AIF}.ics"
    assert CUTOFF3 in events(read(tag_feed))
    rule = seeds / "eurohpc-ai-factories.toml"
    text = rule.read_text(encoding="utf-8")
    rule.write_text(text.replace('"eurohpc", "ai-infrastructure"]', '"eurohpc"]'),
                    encoding="utf-8")
    usecases.sync(store, [seeds], later)
    report = build(store, out, later)
    assert {"tags/ai-infrastructure.ics", f"calls/{AIF}.ics"} <= set(report.written)
    assert CUTOFF3 not in events(read(tag_feed))
    for feed in (tag_feed, call_feed):  # no event of theirs changed, yet their bytes did
        assert int(feed.stat().st_mtime) == int(later.timestamp()) > newest_change(feed), feed
    assert "calls/ai-gigafactories.ics" in report.unchanged


def test_all_holds_the_last_30_days_and_everything_to_come(tmp_path: Path) -> None:
    store = synced(tmp_path, now=utc(2024, 11, 10))
    out = tmp_path / "out"
    early = utc(2024, 11, 20)  # cut-off 1 (4 Nov 2024) is 16 days old
    build(store, out, early)
    assert CUTOFF1 in events(read(out / "all.ics"))
    before = files_in(out)
    report = build(store, out, early + timedelta(days=20))  # now 36 days old
    assert report.written == ["all.ics", "index.json"]
    held = events(read(out / "all.ics"))
    assert CUTOFF1 not in held and CUTOFF3 in held
    assert min(ev.value("DTSTART") for ev in held.values()) >= "20241111"
    assert CUTOFF1 in events(read(out / "calls" / f"{AIF}.ics"))  # still in its call's feed
    after = files_in(out)
    assert after["all.ics"][1] == int((early + timedelta(days=20)).timestamp())
    assert {k for k in after if after[k] != before[k]} == {"all.ics", "all.ics.gz",
                                                           "index.json"}


def test_missing_or_damaged_files_are_written_again(tmp_path: Path) -> None:
    store = synced(tmp_path)
    out = tmp_path / "out"
    build(store, out)
    before = files_in(out)
    (out / "calls" / f"{AIF}.ics.gz").unlink()
    (out / "milestones.ics").write_bytes(b"BEGIN:VCALENDAR\r\n")
    report = build(store, out)
    assert sorted(report.written) == ["calls/ai-factories.ics", "milestones.ics"]
    assert files_in(out) == before
    (out / STATE).write_text("{not json", encoding="utf-8")  # no state: every feed again
    assert len(build(store, out).written) == len(feeds_in(out))
    assert files_in(out) == before


def test_an_incremental_build_gives_the_bytes_of_a_fresh_one(tmp_path: Path) -> None:
    seeds = copy_seeds(tmp_path)
    store = synced(tmp_path, seeds)
    out = tmp_path / "out"
    build(store, out)
    rule = seeds / "eu-ai-policy.toml"
    rule.write_text(rule.read_text(encoding="utf-8").replace(
        'tags = ["ai-policy", "ai-act"]', 'tags = ["ai-policy", "ai-act", "eurohpc"]'),
        encoding="utf-8")
    usecases.sync(store, [seeds], T2)
    build(store, out, T2)
    fresh = tmp_path / "fresh"
    build(store, fresh, T2)
    incremental, scratch = files_in(out), files_in(fresh)
    assert incremental.keys() == scratch.keys()
    for name, (data, _) in scratch.items():
        assert incremental[name][0] == data, name
        if name.endswith(".ics"):
            parse(data)


def test_a_copied_folder_is_a_valid_build_of_its_own(tmp_path: Path) -> None:
    store = synced(tmp_path)
    out = tmp_path / "out"
    build(store, out)
    copy = tmp_path / "copy"
    shutil.copytree(out, copy, copy_function=shutil.copy)  # mtimes not kept: every feed
    # is written again, with the same bytes and Last-Modified
    assert len(build(store, copy).written) == len(feeds_in(copy))
    assert files_in(copy) == files_in(out)
    assert build(store, copy).written == []


def test_every_back_end_gives_the_same_feeds(db_url: str, tmp_path: Path) -> None:
    seeds = copy_seeds(tmp_path)
    reference = synced(tmp_path / "reference", seeds)
    store = db.open_store(db_url)
    usecases.sync(store, [seeds], T1)
    build(reference, tmp_path / "sqlite")
    build(store, tmp_path / "out")
    rule = seeds / "eu-ai-policy.toml"
    rule.write_text(rule.read_text(encoding="utf-8").replace('"ai-act"]', '"ai-act", "x"]'),
                    encoding="utf-8")
    for s in (reference, store):
        usecases.sync(s, [seeds], T2)
    assert build(store, tmp_path / "out", T2).written == build(reference, tmp_path / "sqlite",
                                                              T2).written
    assert files_in(tmp_path / "out") == files_in(tmp_path / "sqlite")
