"""First run and everyday use (issue 12): your folder is the project, output fits the terminal,
one grammar, settings checked at start, and the small things a new user trips over."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.feedkit import SEEDS
from tracker import userinput
from tracker.cli import app
from tracker.errors import UsageError

RULE = """\
id = "my-call"
title = "My own call"
announced = 2026-01-05
opens = 2026-01-05
closes = 2099-06-30
"""


def tracker(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env or {})


def test_a_rule_added_to_the_clones_seeds_is_listed(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    clone = tmp_path / "clone"
    shutil.copytree(SEEDS, clone / "seeds")
    (clone / "seeds" / "my-call.toml").write_text(RULE, encoding="utf-8")
    monkeypatch.chdir(clone / "seeds")  # anywhere inside the project, as git finds its repo
    listed = tracker("deadlines", "--call", "my-call", "--format", "json")
    assert listed.exit_code == 0, listed.output
    assert '"my-call/cutoff/deadline"' in listed.stdout
    config = tracker("config").stdout
    assert f"project:     {clone}" in config and "the project's seeds/ folder" in config
    checked = len(list((clone / "seeds").rglob("*.toml")))
    assert tracker("check").stdout.startswith(f"OK: {checked} rule file(s) valid")  # those


def test_init_makes_a_project_that_checks_and_lists(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    assert tracker("init", str(tmp_path / "grants")).exit_code == 0
    monkeypatch.chdir(tmp_path / "grants")
    assert tracker("check").exit_code == 0
    listed = tracker("deadlines", "--format", "json")
    assert "example-call/" in listed.stdout
    again = tracker("init", ".")
    assert again.exit_code == 2 and "already holds" in again.stderr


def test_tables_fit_80_columns() -> None:
    result = tracker("--seeds", str(SEEDS), "deadlines", "--as-of", "2024-10-01",
                     env={"COLUMNS": "80"})
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) > 5 and max(len(line) for line in lines) <= 80
    assert any("2024-11-04 17:00 CET" in line for line in lines)  # dates are never cut


def test_version_short_help_and_clean_metavars() -> None:
    assert tracker("--version").stdout.startswith("tracker ")
    helped = tracker("deadlines", "-h").stdout
    assert "Example:" in helped and "<list[str]>" not in helped and "range]" not in helped


@pytest.mark.parametrize(("text", "option", "message"), [
    ("6m", "--within", "ambiguous; write 6min for minutes or 6mo for months"),
    ("3 fortnights", "--within", "unknown unit .fortnights."),
])
def test_one_duration_grammar_refuses_what_it_cannot_read(text: str, option: str,
                                                          message: str) -> None:
    with pytest.raises(UsageError, match=message):
        userinput.duration(text, option)


def test_durations_and_lists_read_alike_everywhere() -> None:
    assert userinput.interval("5min", "--sync-every").total_seconds() == 300
    assert userinput.days("8w", "--horizon") == 56
    assert [k.value for k in userinput.kinds(["cutoff,milestone", "opening"])] == \
        ["cutoff", "milestone", "opening"]
    assert [d.total_seconds() for d in userinput.leads(["1d,2h", "30min"], "alarm")] == \
        [86400, 7200, 1800]


def test_bad_input_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    env = {"TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}"}
    bogus = tracker("outbox", "--state", "bogus", env=env)
    assert bogus.exit_code == 2 and "pending, sending, sent, failed" in bogus.stderr
    missing = tracker("retry", "999", env=env)
    assert missing.exit_code == 3 and "no outbox message 999" in missing.stderr


def test_a_typo_in_the_smtp_url_is_an_error_at_start() -> None:
    result = tracker("config", env={"TRACKER_SMTP_URL": "smtp://h:25?startls=true"})
    assert result.exit_code == 2
    assert "did you mean 'starttls'" in result.stderr and "Traceback" not in result.output


def test_real_mail_with_loopback_links_is_refused(tmp_path: Path) -> None:
    env = {"TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
           "TRACKER_SMTP_URL": "smtp://127.0.0.1:2525"}
    result = tracker("--seeds", str(SEEDS), "digest", "send", env=env)
    assert result.exit_code == 2 and "base_url" in result.stderr


def test_subscribing_to_a_closed_call_warns_and_uses_your_zone(tmp_path: Path) -> None:
    env = {"TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
           "TRACKER_TIMEZONE": "Asia/Tokyo"}
    result = tracker("--seeds", str(SEEDS), "subscribe", "ana@uni.example", "--call",
                     "ai-gigafactories", env=env)
    assert result.exit_code == 0, result.output
    assert "Asia/Tokyo" in result.stdout
    assert "ai-gigafactories has no dates left to come" in result.stderr


def test_an_empty_calendar_export_says_why(tmp_path: Path) -> None:
    env = {"TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}"}
    result = tracker("--seeds", str(SEEDS / "ai-gigafactories.toml"), "deadlines", "--kind",
                     "cutoff", "--format", "ics", env=env)
    assert result.exit_code == 0
    assert "The calendar is empty" in result.stderr
    assert "X-WR-CALNAME:Grant deadlines: cut-offs" in result.stdout
