"""`tracker import` end to end through the CLI: import the real fixture, sync, then re-import a
copy with one moved deadline: one move in `tracker changes`, same feed UID, higher SEQUENCE."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import typer
from icalendar import Calendar
from typer.testing import CliRunner, Result

from tests.standins import FtPortal, serve
from tracker.cli import app as tracker_app
from tracker.importers import register

DATA = Path(__file__).parent / "data" / "ftportal"
SEEDS = Path(__file__).parent.parent / "seeds"
SOIL = "HORIZON-MISS-2027-05-SOIL-01-two-stage"


def import_app() -> typer.Typer:
    """An app with only the `import` group, as cli.py registers it."""
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """Test root."""

    register(app)
    return app


def tracker(*args: str) -> Result:
    """Run a tracker command against the imported folder and a test database."""
    env = {"TRACKER_DATABASE_URL": f"sqlite:///{Path.cwd() / 'tracker.db'}"}
    return CliRunner().invoke(tracker_app, ["--seeds", "imported/ftportal", *args], env=env)


def importer(*args: str) -> Result:
    """Run `tracker import ...`."""
    return CliRunner().invoke(import_app(), ["import", *args])


def fixture_copy(path: Path, moved_to: str | None = None, cut: str | None = None) -> Path:
    """The real fixture saved under `path`, with SOIL's first stage moved or a record cut."""
    doc: dict[str, Any] = json.loads((DATA / "topics.json").read_text())
    doc = copy.deepcopy(doc)
    for rec in doc["results"]:
        if moved_to and rec["metadata"]["identifier"] == [SOIL]:
            rec["metadata"]["deadlineDate"][0] = moved_to
        if cut and rec["metadata"]["identifier"] == [cut]:
            rec["metadata"]["deadlineDate"] = ["2027-0"]
    path.write_text(json.dumps(doc))
    return path


def events(feed: Path) -> dict[str, Any]:
    """VEVENTs of a feed file by UID."""
    cal = Calendar.from_ical(feed.read_bytes())
    return {str(ev["UID"]): ev for ev in cal.walk("VEVENT")}


def test_moved_deadline_is_one_change_and_the_same_uid_with_a_higher_sequence() -> None:
    first = importer("ftportal", str(fixture_copy(Path("portal-1.json"))),
                     "--retrieved", "2026-11-24T10:00:00Z")
    assert first.exit_code == 0, first.output
    assert "ftportal: 52 new, 0 updated, 0 unchanged, 0 withdrawn, 0 skipped" in first.stdout
    assert tracker("sync").exit_code == 0
    assert tracker("feeds", "build", "--out", "feeds").exit_code == 0
    before = events(Path("feeds/calls") / f"{SOIL.lower()}.ics")

    again = importer("ftportal", str(fixture_copy(Path("portal-1.json"))),
                     "--retrieved", "2026-11-25T08:00:00Z")
    assert "0 new, 0 updated, 52 unchanged" in again.stdout

    moved = importer("ftportal", str(fixture_copy(Path("portal-2.json"),
                                                  "2027-04-15T00:00:00.000+0000")),
                     "--retrieved", "2026-11-25T08:00:00Z")
    assert f"Changed {SOIL.lower()} stage-1: 2027-04-08 -> 2027-04-15" in moved.stdout
    assert "0 new, 1 updated, 51 unchanged" in moved.stdout
    synced = tracker("sync")
    assert synced.exit_code == 0, synced.output
    changes = tracker("changes").stdout
    moves = [line for line in changes.splitlines() if "2027-04-15" in line]
    assert len(moves) == 1 and "2027-04-08" in moves[0]
    assert f"EU Funding & Tenders Portal: topic {SOIL}" in moves[0]  # the portal as source
    assert tracker("feeds", "build", "--out", "feeds").exit_code == 0
    after = events(Path("feeds/calls") / f"{SOIL.lower()}.ics")
    assert set(after) == set(before)
    [uid] = [u for u in after if "stage-1" in u]
    assert int(after[uid]["SEQUENCE"]) > int(before[uid]["SEQUENCE"])
    assert after[uid].decoded("DTSTART").date().isoformat() == "2027-04-15"


def test_truncated_record_is_reported_by_identifier_and_the_rest_import() -> None:
    result = importer("ftportal", str(fixture_copy(Path("cut.json"),
                                                   cut="HORIZON-CL5-2027-01-D1-10")))
    assert result.exit_code == 0
    assert "Skipped HORIZON-CL5-2027-01-D1-10: deadline '2027-0' is not a date" in result.stderr
    assert "51 new" in result.stdout
    assert tracker("check").exit_code == 0


def test_fetch_through_the_cli_with_filters_and_a_500() -> None:
    rows = json.loads((DATA / "topics.json").read_text())["results"]
    portal = FtPortal(rows, fail_once={1})
    with serve(portal) as url:
        result = importer("ftportal", "--fetch", "--api-url", url, "--delay", "0",
                          "--programme", "Horizon Europe", "--status", "forthcoming,open",
                          "--keyword", "soil", "--retrieved", "2026-11-25T06:00:00Z")
    assert result.exit_code == 0, result.output
    assert (1, 500) in portal.seen
    assert "ftportal: 4 new" in result.stdout  # SOIL-01, -04, -06 and SOIL-CANCER
    listed = tracker("deadlines", "--as-of", "2026-11-25", "--format", "json")
    assert listed.exit_code == 0, listed.output
    assert "HORIZON-MISS-2027-05-SOIL-01-two-stage" in listed.stdout


def test_portal_down_exits_with_a_message_and_writes_nothing() -> None:
    with serve(FtPortal([], down=True)) as url:
        result = importer("ftportal", "--fetch", "--api-url", url, "--delay", "0")
    assert result.exit_code == 5
    assert "failed 4 time(s), last: HTTP 500" in result.stderr
    assert not Path("imported").exists()


def test_bundled_snapshot_is_valid_and_lists_real_upcoming_topics() -> None:
    env = {"TRACKER_DATABASE_URL": f"sqlite:///{Path.cwd() / 'tracker.db'}"}
    checked = CliRunner().invoke(tracker_app, ["--seeds", str(SEEDS), "check"], env=env)
    assert checked.exit_code == 0, checked.output
    listed = CliRunner().invoke(tracker_app, ["--seeds", str(SEEDS / "ftportal-snapshot"),
                                              "deadlines", "--as-of", "2026-11-25",
                                              "--format", "json"], env=env)  # its day
    assert listed.exit_code == 0, listed.output
    assert "HORIZON-MSCA-2027-COFUND-01-01" in listed.stdout or \
        "horizon-msca-2027-cofund-01-01" in listed.stdout


def test_register_runs_the_after_import_hook_into_the_default_folder() -> None:
    seen: list[bool] = []
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """Test root."""

    register(app, after_import=lambda _ctx: seen.append(Path("data/ftportal").is_dir()),
             default_folder=lambda _ctx, kind: Path("data") / kind)
    result = CliRunner().invoke(app, ["import", "ftportal", str(DATA / "topics.json")])
    assert result.exit_code == 0, result.output
    assert seen == [True]
    assert len(list(Path("data/ftportal").glob("*.toml"))) == 52


def test_every_import_command_has_help_with_an_example() -> None:
    for kind in ("ftportal", "grantsgov"):
        shown = importer(kind, "--help")
        assert shown.exit_code == 0 and "Example: tracker import " + kind in shown.stdout
