"""Writing imported calls: same input same bytes, nothing written when nothing changed, a moved
deadline kept as an amendment, vanished topics withdrawn, overrides kept, crash safety."""

from __future__ import annotations

import copy
import json
import os
import tomllib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from tests.standins import ftportal_records
from tracker.importers import ftportal
from tracker.importers.model import ImportFilter
from tracker.importers.sources import store
from tracker.importers.write import JOURNAL, WriteReport, recover, write_calls

DAY1 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
DAY2 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
TODAY = date(2026, 11, 25)
SOIL = "HORIZON-MISS-2027-05-SOIL-01-two-stage"
COFUND = "HORIZON-MSCA-2027-COFUND-01-01"


def moved(rows: list[dict[str, Any]], identifier: str, index: int, stamp: str) \
        -> list[dict[str, Any]]:
    """A copy of the records where one deadline of one topic moved."""
    rows = copy.deepcopy(rows)
    for r in rows:
        if r["metadata"]["identifier"] == [identifier]:
            r["metadata"]["deadlineDate"][index] = stamp
    return rows


def run(rows: list[dict[str, Any]], folder: Path, when: datetime = DAY1) -> WriteReport:
    """Import the rows into the folder as `tracker import ftportal FILE` does."""
    result = ftportal.parse_records(rows, when)
    return store(result, folder, kind="ftportal", scope="files", filt=ImportFilter(),
                 today=TODAY)


def doc(folder: Path, identifier: str) -> dict[str, Any]:
    """An imported rule file, read as TOML."""
    return tomllib.loads((folder / f"{identifier.lower()}.toml").read_text())


def test_same_input_gives_the_same_bytes(tmp_path: Path) -> None:
    run(ftportal_records(), tmp_path / "a")
    run(list(reversed(ftportal_records())), tmp_path / "b")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert len([n for n in names if n.endswith(".toml")]) == 52
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_unchanged_import_writes_nothing_even_a_day_later(tmp_path: Path) -> None:
    run(ftportal_records(), tmp_path)
    stamps = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    report = run(ftportal_records(), tmp_path, DAY2)
    assert not report.touched and report.unchanged == 52
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == stamps


def test_file_names_the_source_record_and_retrieval_time(tmp_path: Path) -> None:
    run(ftportal_records(), tmp_path)
    rule = doc(tmp_path, COFUND)
    assert rule["sources"]["portal"] == {
        "title": f"EU Funding & Tenders Portal: topic {COFUND}",
        "url": f"{ftportal.TOPIC_URL.format(COFUND)}",
        "retrieved": datetime(2026, 11, 25, 10, 0, tzinfo=UTC)}
    assert rule["deadline_time_basis"] == "convention"
    assert rule["cutoffs"]["dates"] == [{"date": date(2027, 4, 6), "key": "deadline"}]


def test_moved_deadline_becomes_a_move_amendment_and_keeps_the_first_date(tmp_path: Path) -> None:
    run(ftportal_records(), tmp_path)
    report = run(moved(ftportal_records(), SOIL, 0, "2027-04-15T00:00:00.000+0000"), tmp_path, DAY2)
    assert report.updated == [SOIL.lower()]
    assert report.changes == [f"{SOIL.lower()} stage-1: 2027-04-08 -> 2027-04-15"]
    rule = doc(tmp_path, SOIL)
    assert rule["cutoffs"]["dates"][0] == {"date": date(2027, 4, 8), "key": "stage-1",
                                           "label": "Stage 1"}
    assert rule["amendments"] == [{
        "action": "move", "announced": date(2026, 11, 26), "cutoff": date(2027, 4, 8),
        "to": date(2027, 4, 15), "source": "portal",
        "note": "Changed on the EU Funding & Tenders Portal (seen 2026-11-26)."}]
    assert rule["sources"]["portal"]["retrieved"] == DAY2
    # a second move still names the first date, and the history grows
    run(moved(ftportal_records(), SOIL, 0, "2027-04-22T00:00:00.000+0000"), tmp_path, DAY2)
    assert [(a["cutoff"], a["to"]) for a in doc(tmp_path, SOIL)["amendments"]] == [
        (date(2027, 4, 8), date(2027, 4, 15)), (date(2027, 4, 8), date(2027, 4, 22))]


def test_last_deadline_moved_later_also_moves_the_closing(tmp_path: Path) -> None:
    run(ftportal_records(), tmp_path)
    run(moved(ftportal_records(), COFUND, 0, "2027-04-20T00:00:00.000+0000"), tmp_path, DAY2)
    rule = doc(tmp_path, COFUND)
    assert rule["closes"] == date(2027, 4, 6)
    assert rule["amendments"][0]["closing"] is True
    assert rule["amendments"][0]["to"] == date(2027, 4, 20)


def test_vanished_topic_is_withdrawn_not_deleted_and_comes_back(tmp_path: Path) -> None:
    run(ftportal_records(), tmp_path)
    fewer = [r for r in ftportal_records() if r["metadata"]["identifier"] != [COFUND]]
    report = run(fewer, tmp_path, DAY2)
    assert report.withdrawn == [COFUND.lower()]
    assert doc(tmp_path, COFUND)["withdrawn"] is True
    assert not run(fewer, tmp_path, DAY2).touched  # withdrawn once, then left alone
    run(ftportal_records(), tmp_path, DAY2)
    assert "withdrawn" not in doc(tmp_path, COFUND)


def test_closed_topic_missing_from_a_status_filtered_import_is_not_withdrawn(tmp_path: Path) \
        -> None:
    run(ftportal_records(), tmp_path)
    still_listed = [r for r in ftportal_records()
                    if r["metadata"]["identifier"] != ["HORIZON-CL5-2026-09-D4-03"]]
    assert run(still_listed, tmp_path, DAY2).withdrawn == []  # it closed on 2026-09-15


def test_broken_record_keeps_its_previous_file(tmp_path: Path) -> None:
    run(ftportal_records(), tmp_path)
    before = (tmp_path / f"{COFUND.lower()}.toml").read_bytes()
    rows = moved(ftportal_records(), COFUND, 0, "2027-04-0")
    report = run(rows, tmp_path, DAY2)
    assert report.withdrawn == []
    assert (tmp_path / f"{COFUND.lower()}.toml").read_bytes() == before


def test_override_file_survives_every_import(tmp_path: Path) -> None:
    run(ftportal_records(), tmp_path)
    (tmp_path / f"{COFUND.lower()}.override").write_text(
        'tags = ["msca", "our-team"]\nsummary = "Our doctoral network call."\n'
        'id = "ignored"\n')
    report = run(ftportal_records(), tmp_path, DAY2)
    assert report.updated == [COFUND.lower()]
    rule = doc(tmp_path, COFUND)
    assert rule["tags"] == ["msca", "our-team"]
    assert rule["summary"] == "Our doctoral network call."
    assert rule["id"] == COFUND.lower()  # the importer's keys cannot be overridden
    text = (tmp_path / f"{COFUND.lower()}.toml").read_text()
    assert "Overridden here from" in text and "summary, tags" in text
    # the portal moves the deadline: the override stays, the move is recorded
    run(moved(ftportal_records(), COFUND, 0, "2027-04-13T00:00:00.000+0000"), tmp_path, DAY2)
    rule = doc(tmp_path, COFUND)
    assert rule["tags"] == ["msca", "our-team"]
    assert rule["amendments"][0]["to"] == date(2027, 4, 13)


def test_kill_during_staging_leaves_the_previous_import(tmp_path: Path) -> None:
    run(ftportal_records(), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    # what a SIGKILL before the journal leaves behind: staged files only
    (tmp_path / f".{COFUND.lower()}.toml.new").write_text("half a fi")
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.toml")} == \
        {k: v for k, v in before.items() if k.endswith(".toml")}
    recover(tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_kill_during_renames_is_finished_by_the_next_import(tmp_path: Path) -> None:
    run(ftportal_records(), tmp_path)
    target = tmp_path / f"{SOIL.lower()}.toml"
    staged = tmp_path / f".{SOIL.lower()}.toml.new"
    staged.write_text(target.read_text().replace("2027-04-08", "2027-04-09"))
    (tmp_path / JOURNAL).write_text(json.dumps([[staged.name, target.name]]))
    report = write_calls([], tmp_path, source="ftportal", scope="other", today=TODAY)
    assert not report.touched
    assert "2027-04-09" in target.read_text()
    assert not (tmp_path / JOURNAL).exists() and not staged.exists()


def test_no_temporary_files_remain(tmp_path: Path) -> None:
    run(ftportal_records(), tmp_path)
    run(moved(ftportal_records(), SOIL, 1, "2027-09-20T00:00:00.000+0000"), tmp_path, DAY2)
    assert sorted(n for n in os.listdir(tmp_path) if n.startswith(".")) == [".imported.json"]
