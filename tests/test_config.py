"""`tracker config` (where each setting came from, precedence, masked secrets, project files)
and `tracker feeds build` from the command line."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.feedkit import AIF, BASE_URL, CUTOFF1, SEEDS, events, read
from tests.test_cli import RECURRING, run, store_url  # noqa: F401 (autouse fixture)
from tracker.cli import app


def config_rows(result: Result) -> dict[str, tuple[str, str]]:
    """SETTING -> (VALUE, FROM) from `tracker config`."""
    assert result.exit_code == 0, result.output
    rows = {}
    for line in result.stdout.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) >= 3 and cells[0] != "SETTING":
            rows[cells[0]] = (cells[1], cells[2])
    return rows


def test_config_shows_where_each_setting_came_from() -> None:
    rows = config_rows(run("config"))
    assert {"seeds", "timezone", "database_url"} <= set(rows)
    assert rows["timezone"][1] == "default"
    assert rows["database_url"][1] == "TRACKER_DATABASE_URL"


def test_environment_overrides_the_timezone() -> None:
    rows = config_rows(run("config", env={"TRACKER_TIMEZONE": "Europe/Paris"}))
    assert rows["timezone"] == ("Europe/Paris", "TRACKER_TIMEZONE")


def test_config_file_environment_and_option_in_that_order(tmp_path: Path) -> None:
    (tmp_path / "tracker.toml").write_text('timezone = "Asia/Tokyo"\n', encoding="utf-8")
    rows = config_rows(run("config"))
    assert rows["timezone"] == ("Asia/Tokyo", str(tmp_path / "tracker.toml"))
    rows = config_rows(run("config", env={"TRACKER_TIMEZONE": "Europe/Paris"}))
    assert rows["timezone"] == ("Europe/Paris", "TRACKER_TIMEZONE")
    rows = config_rows(run("--seeds", RECURRING, "config"))
    assert rows["seeds"] == (RECURRING, "option")


def test_database_password_is_masked() -> None:
    url = "postgresql+psycopg://grants:s3cret@db.example.org:5432/tracker"
    result = run("config", env={"TRACKER_DATABASE_URL": url})
    assert "s3cret" not in result.stdout
    assert config_rows(result)["database_url"][0] == \
        "postgresql+psycopg://grants:***@db.example.org:5432/tracker"


def test_smtp_password_is_masked() -> None:
    result = run("config", env={"TRACKER_SMTP_URL": "smtp://bot:hunter2@mail.example:587"})
    assert "hunter2" not in result.stdout
    assert config_rows(result)["smtp_url"][0] == "smtp://bot:***@mail.example:587"


def test_project_config_puts_the_database_next_to_it(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKER_DATABASE_URL")
    project = tmp_path / "grants-office"
    project.mkdir()
    (project / "tracker.toml").write_text('database_url = "sqlite:///tracker.db"\n')
    monkeypatch.chdir(project)
    assert run("--seeds", RECURRING, "sync").exit_code == 0
    assert (project / "tracker.db").is_file()
    assert config_rows(run("config"))["database_url"] == (
        f"sqlite:///{project / 'tracker.db'}", str(project / "tracker.toml"))


# ------------------------------------------------------------------ feeds from the command line

def test_cli_feeds_build(tmp_path: Path) -> None:
    env = {"TRACKER_DATABASE_URL": f"sqlite:///{tmp_path}/t.db", "TRACKER_SEEDS": str(SEEDS),
           "TRACKER_BASE_URL": BASE_URL}
    out = tmp_path / "public"
    first = CliRunner().invoke(app, ["feeds", "build", "--out", str(out)], env=env)
    assert first.exit_code == 0, first.output
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    paths = {f["path"] for f in index["feeds"]}
    assert {"all.ics", f"calls/{AIF}.ics"} <= paths
    assert all((out / p).is_file() for p in paths)
    written = len(list(out.rglob("*.ics"))) + 1
    assert f"{written} file(s) written, 0 unchanged" in first.output
    assert CUTOFF1 not in events(read(out / "all.ics"))  # "all": the last 30 days and after
    cal = read(out / "calls" / f"{AIF}.ics")
    assert events(cal)[CUTOFF1].value("DTSTART") == "20241104T170000"
    assert events(cal)[CUTOFF1].value("DTSTAMP").endswith("Z")
    stamp = datetime.strptime(events(cal)[CUTOFF1].value("DTSTAMP"), "%Y%m%dT%H%M%SZ")
    assert abs((stamp.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()) < 600
    again = CliRunner().invoke(app, ["feeds", "build", "--out", str(out)], env=env)
    assert again.exit_code == 0, again.output
    assert f"0 file(s) written, {written} unchanged" in again.output
