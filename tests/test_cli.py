"""The command line, run in-process with CliRunner on the real rule files of tests/data."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar
from typer.testing import CliRunner, Result

from tests.helpers import BRUSSELS, DATA, line_of
from tracker.cli import app
from tracker.resources import package_data

RECURRING = str(DATA / "recurring_tentative.toml")
SINGLE = str(DATA / "single.toml")
BROKEN = DATA / "broken_many.toml"


@pytest.fixture(autouse=True)
def store_url(isolated: None, tmp_path: Path,  # noqa: ARG001 (runs after isolation)
              monkeypatch: pytest.MonkeyPatch) -> None:
    """A throw-away store for every command."""
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'tracker.db'}")


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    """`tracker ARGS...` in-process."""
    return CliRunner().invoke(app, list(args), env=env)


def deadlines(seeds: Sequence[str], *args: str) -> Result:
    """`tracker --seeds S... deadlines ARGS...`."""
    argv = [a for s in seeds for a in ("--seeds", s)]
    return run(*argv, "deadlines", *args)


def records(seeds: Sequence[str], *args: str) -> list[dict[str, Any]]:
    """The JSON records of `tracker deadlines --format json`."""
    result = deadlines(seeds, "--format", "json", *args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    return data


def one_error_line(result: Result) -> str:
    """A user error: one line on stderr, no traceback."""
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- deadlines -------------------------------------------------------------------------------

def test_json_as_of_before_the_first_cutoff() -> None:
    items = records([RECURRING], "--as-of", "2024-10-01", "--tz", "Europe/Brussels")
    cut = [r for r in items if r["kind"] == "cutoff"]
    assert cut[0]["start"] == "2024-11-04T17:00:00+01:00"
    assert cut[0]["timezone"] == "Europe/Brussels"
    assert (cut[0]["status"], cut[0]["tentative"]) == ("confirmed", False)
    assert len(cut) == 5  # 4 Nov 2024, then every 3 months until the end of 2025
    for later in cut[1:]:
        assert (later["status"], later["tentative"]) == ("tentative", True)
        assert later["note"] == "as long as funds are available"
    # the move to 1 February is announced on 10 December: not known on 1 October
    assert cut[1]["start"] == "2025-02-04T17:00:00+01:00"
    assert cut[1]["moved_from"] is None


def test_json_as_of_after_the_amendment_shows_the_move() -> None:
    items = records([RECURRING], "--as-of", "2025-01-01", "--tz", "Europe/Brussels")
    feb = next(r for r in items if r["id"] == "ai-factories/cutoff/2025-02-04")
    assert feb["start"] == "2025-02-01T17:00:00+01:00"
    assert feb["status"] == "moved"
    assert feb["moved_from"] == "2025-02-04T17:00:00+01:00"


@pytest.mark.parametrize(("as_of", "start", "status"), [
    ("2024-12-09", "2025-02-04T17:00:00+01:00", "tentative"),
    ("2024-12-10", "2025-02-01T17:00:00+01:00", "moved"),  # the day it was announced
])
def test_as_of_sees_an_amendment_from_its_announcement_day(as_of: str, start: str,
                                                          status: str) -> None:
    items = records([RECURRING], "--as-of", as_of, "--tz", "Europe/Brussels")
    feb = next(r for r in items if r["id"] == "ai-factories/cutoff/2025-02-04")
    assert (feb["start"], feb["status"]) == (start, status)


def test_json_shows_the_readers_time_beside_the_calls() -> None:
    (nov,) = list(records([RECURRING], "--as-of", "2024-10-01", "--tz",
                                 "America/New_York", "--kind", "cutoff", "--until", "2024-12-01"))
    # 17:00 in Brussels (UTC+1) is 11:00 in New York (UTC-5) on 4 November
    assert nov["start"] == "2024-11-04T17:00:00+01:00"
    assert nov["local_start"] == "2024-11-04T11:00:00-05:00"


def test_quarter_milestone_reads_as_a_quarter() -> None:
    items = records([RECURRING], "--as-of", "2024-10-01", "--kind", "milestone")
    (sel,) = items
    assert (sel["when"], sel["precision"], sel["end"]) == ("Q1 2025", "quarter", "2025-03-31")
    table = deadlines([RECURRING], "--as-of", "2024-10-01", "--kind", "milestone")
    assert "Q1 2025" in table.stdout
    assert "2025-01-01" not in table.stdout


def test_table_lists_items_with_both_clocks() -> None:
    result = deadlines([RECURRING], "--as-of", "2024-10-01", "--tz", "Asia/Tokyo",
                       "--until", "2024-12-01")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stdout.splitlines() if "cut-off 1" in x)
    # 16:00 UTC is 01:00 the next day in Tokyo (UTC+9)
    assert "2024-11-04 17:00 CET" in line and "2024-11-05 01:00 JST" in line


def test_within_limits_the_list() -> None:
    # 90 days from 2024-10-01 end on 2024-12-30: only the 4 November cut-off falls in them
    items = records([RECURRING], "--as-of", "2024-10-01", "--within", "90d")
    assert [r["id"] for r in items] == ["ai-factories/cutoff/2024-11-04"]


def test_until_limits_the_list() -> None:
    items = records([RECURRING], "--as-of", "2024-10-01", "--until", "2025-02-15")
    assert [r["id"] for r in items] == [
        "ai-factories/cutoff/2024-11-04",
        "ai-factories/milestone/selection",  # Q1 2025 starts before 15 February
        "ai-factories/cutoff/2025-02-04",
    ]


def test_past_items_only_with_all() -> None:
    ids = [r["id"] for r in records([RECURRING], "--as-of", "2025-01-01")]
    assert "ai-factories/opening" not in ids
    assert "ai-factories/cutoff/2024-11-04" not in ids
    every = [r["id"] for r in records([RECURRING], "--as-of", "2025-01-01", "--all")]
    assert every[:2] == ["ai-factories/opening", "ai-factories/cutoff/2024-11-04"]
    past = next(r for r in records([RECURRING], "--as-of", "2025-01-01", "--all")
                if r["id"] == "ai-factories/cutoff/2024-11-04")
    assert past["status"] == "passed"


def test_tag_filter() -> None:
    both = [RECURRING, SINGLE]
    health = records(both, "--as-of", "2024-10-01", "--tag", "health")
    assert {r["call"] for r in health} == {"single-call"}
    ai = records(both, "--as-of", "2024-10-01", "--tag", "AI")
    assert {r["call"] for r in ai} == {"ai-factories"}
    either = records(both, "--as-of", "2024-10-01", "--tag", "ai", "--tag", "health")
    assert {r["call"] for r in either} == {"ai-factories", "single-call"}


def test_kind_filter() -> None:
    both = [RECURRING, SINGLE]
    cut = records(both, "--as-of", "2024-10-01", "--kind", "cutoff")
    assert cut and {r["kind"] for r in cut} == {"cutoff"}
    two = records(both, "--as-of", "2024-10-01", "--kind", "opening", "--kind", "closing")
    assert {(r["call"], r["kind"]) for r in two} == {
        ("single-call", "opening"), ("ai-factories", "closing")}


def test_call_filter_by_official_identifier() -> None:
    items = records([RECURRING, SINGLE], "--as-of", "2024-10-01", "--call",
                    "eurohpc-2024-cei-ai-01")
    assert items and {r["call"] for r in items} == {"ai-factories"}


def test_csv_parses_with_the_csv_module() -> None:
    args = ("--as-of", "2024-10-01", "--tz", "Europe/Brussels")
    result = deadlines([RECURRING, SINGLE], "--format", "csv", *args)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    as_json = records([RECURRING, SINGLE], *args)
    assert [r["id"] for r in rows] == [r["id"] for r in as_json]
    nov = next(r for r in rows if r["id"] == "ai-factories/cutoff/2024-11-04")
    assert nov["start"] == "2024-11-04T17:00:00+01:00"
    assert nov["tags"].split() == ["ai", "hpc"]
    # the title's dash survives as text
    assert nov["title"] == "AI Factories — cut-off 1"


def test_ics_output_parses_and_keeps_the_calls_zone() -> None:
    result = deadlines([RECURRING], "--as-of", "2024-10-01", "--format", "ics")
    assert result.exit_code == 0, result.output
    cal = Calendar.from_ical(result.stdout_bytes)
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    nov = events["ai-factories/cutoff/2024-11-04@grant-tracker"]
    assert nov["DTSTART"].params["TZID"] == "Europe/Brussels"
    assert nov.decoded("DTSTART") == datetime(2024, 11, 4, 17, 0, tzinfo=BRUSSELS)
    assert str(nov["STATUS"]) == "CONFIRMED"
    assert str(events["ai-factories/cutoff/2025-05-04@grant-tracker"]["STATUS"]) == "TENTATIVE"
    assert "TZID:Europe/Brussels" in result.stdout  # a VTIMEZONE for the zone used
    selection = events["ai-factories/milestone/selection@grant-tracker"]
    assert selection.decoded("DTSTART") == date(2025, 1, 1)  # all-day ...
    assert "Q1 2025" in str(selection["SUMMARY"])  # ... and labelled as the quarter it is


# --- user errors -------------------------------------------------------------------------------

def test_unknown_call_id_is_one_line_without_traceback() -> None:
    result = run("--seeds", RECURRING, "show", "ai-factorie")
    assert result.exit_code != 0
    line = one_error_line(result)
    assert "ai-factorie" in line and "did you mean 'ai-factories'" in line.lower()
    result = deadlines([RECURRING], "--as-of", "2024-10-01", "--call", "nope")
    assert result.exit_code != 0
    assert "nope" in one_error_line(result)


@pytest.mark.parametrize(("args", "option"), [
    (("--as-of", "2024-13-01"), "--as-of"),
    (("--as-of", "yesterday"), "--as-of"),
    (("--tz", "Europe/Brusels"), "--tz"),
    (("--as-of", "2024-10-01", "--within", "ninety days"), "--within"),
    (("--as-of", "2024-10-01", "--until", "2025-02-30"), "--until"),
    (("--as-of", "2024-10-01", "--kind", "deadline"), "--kind"),
])
def test_bad_option_values_are_one_clear_line_and_exit_2(args: tuple[str, ...],
                                                         option: str) -> None:
    result = deadlines([RECURRING], *args)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert option in line
    assert args[-1] in line


def test_timezone_setting_is_checked() -> None:
    result = run("--seeds", RECURRING, "calls", env={"TRACKER_TIMEZONE": "Mars/Olympus"})
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "TRACKER_TIMEZONE" in line and "Mars/Olympus" in line


# --- check -------------------------------------------------------------------------------------

def test_check_lists_every_problem_with_its_line_and_exits_2() -> None:
    result = run("check", str(BROKEN))
    assert result.exit_code == 2
    text = BROKEN.read_text(encoding="utf-8")
    for key, after in (("titel", None), ("timezone", None), ("source", None),
                       ("dates", r"^\[cutoffs\]"), ("every", r"^\[cutoffs\]"),
                       ("amount", r"^\[budget\]")):
        assert f"{BROKEN}:{line_of(text, key, after)}:" in result.stderr, key
    for words in ("did you mean 'title'?", "did you mean 'Europe/Brussels'?", "call-txt",
                  "2024-06-30", "fortnightly", "never ends", "negative"):
        assert words in result.stderr
    assert "Traceback" not in result.output


def test_check_goes_on_after_a_broken_file() -> None:
    result = run("check", str(DATA / "broken_syntax.toml"), RECURRING, str(BROKEN))
    assert result.exit_code == 2
    assert f"{DATA / 'broken_syntax.toml'}:5:" in result.stderr
    assert f"{BROKEN}:3:" in result.stderr


def test_check_good_files() -> None:
    result = run("check", RECURRING, SINGLE, str(DATA / "two_stage.toml"),
                 str(DATA / "business_days.toml"))
    assert result.exit_code == 0, result.output
    assert "4 rule file(s)" in result.stdout


def test_commands_on_broken_seeds_name_the_problem() -> None:
    result = deadlines([str(BROKEN)], "--as-of", "2024-10-01")
    assert result.exit_code == 2
    assert f"{BROKEN}:3:" in result.stderr
    assert "Traceback" not in result.output


SEEDS = package_data("seeds")


@pytest.mark.skipif(not list(SEEDS.glob("*.toml")),
                    reason=f"no bundled seed files in {SEEDS} yet")
def test_bundled_seeds_parse() -> None:
    result = run("check")
    assert result.exit_code == 0, result.output
    assert f"{len(list(SEEDS.rglob('*.toml')))} rule file(s)" in result.stdout


# --- help, config, entry point -----------------------------------------------------------------

def command_paths() -> list[tuple[str, ...]]:
    """Every registered command, sub-commands of groups (`db upgrade`) included."""
    def name(c: Any) -> str:
        return str(c.name or c.callback.__name__.replace("_", "-"))

    out: list[tuple[str, ...]] = [(name(c),) for c in app.registered_commands]
    for group in app.registered_groups:
        assert group.name and group.typer_instance
        out += [(group.name, name(c)) for c in group.typer_instance.registered_commands]
    return out


def test_every_command_has_help_with_an_example() -> None:
    paths = command_paths()
    assert {("deadlines",), ("calls",), ("show",), ("check",), ("config",)} <= set(paths)
    for path in paths:
        result = run(*path, "--help")
        assert result.exit_code == 0, (path, result.output)
        assert "Example" in result.stdout, path
        # a summary of what it does, not only the options
        assert re.search(r"Usage: .*\n\s*\n\s*\S", result.stdout), path


def test_python_dash_m_tracker_help() -> None:
    done = subprocess.run([sys.executable, "-m", "tracker", "--help"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout and "deadlines" in done.stdout


@pytest.mark.parametrize("zone", ["UTC", "Europe/Athens", "Asia/Tokyo", "America/Los_Angeles"])
def test_as_of_means_the_same_day_in_every_readers_zone(zone: str) -> None:
    out = run("--seeds", RECURRING, "deadlines", "--as-of", "2024-12-10", "--tz", zone, "--all",
              "-f", "json")
    items = {i["id"]: i for i in json.loads(out.stdout)}
    moved = items["ai-factories/cutoff/2025-02-04"]
    assert moved["start"] == "2025-02-01T17:00:00+01:00" and moved["status"] == "moved"


@pytest.mark.parametrize("args", [
    ("deadlines", "--until", "9999-12-31"),
    ("deadlines", "--as-of", "0001-01-01"),
    ("serve", "--port", "99999"),
])
def test_absurd_values_get_one_line_not_a_traceback(args: tuple[str, ...]) -> None:
    result = run("--seeds", RECURRING, *args)
    assert result.exit_code == 2
    assert ("Traceback" not in result.output and result.exception is None) or \
        isinstance(result.exception, SystemExit)


def test_a_path_that_cannot_be_written_is_one_error_line(tmp_path: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("")
    result = run("--seeds", RECURRING, "feeds", "build", env={"TRACKER_CALENDARS": str(blocker)})
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "Error:" in result.output and str(blocker) in result.output
