"""Hardening, defects 3 and 5: a broken rule file does not block the reading commands (they
show the last good state and say so in one line, and `tracker status` reports it for the
daemon); five concurrent `tracker sync` on an empty database give no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.smtpkit import BASE_URL, SENDER, brussels, write_seeds
from tracker import daemon
from tracker import store as db
from tracker.cli import app
from tracker.mail import transport

WARNING = "Warning: a rule file is broken, so this shows the last good state: "
BROKEN = 'title = "AI Factories\\u0000"\n'  # passes TOML, fails the check (line 3)


def run(*args: str, db_url: str) -> Result:
    """`tracker ARGS...` in-process against `db_url`."""
    return CliRunner().invoke(app, list(args), env={"TRACKER_DATABASE_URL": db_url})


@pytest.fixture
def broken(tmp_path: Path, db_url: str) -> Path:
    """Seeds synced once while good, then broken on line 3 (a NUL in the title)."""
    seeds = write_seeds(tmp_path / "seeds")
    assert run("--seeds", str(seeds), "sync", db_url=db_url).exit_code == 0
    rule = seeds / "ai-factories.toml"
    lines = rule.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[2].startswith("title =")
    lines[2] = BROKEN
    rule.write_text("".join(lines), encoding="utf-8")
    return seeds


def warned(result: Result, seeds: Path) -> str:
    """A reading command that worked from the last good state: exit 0, one warning line that
    names the file and line, and no traceback; returns its standard output."""
    assert "Traceback" not in result.output
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith(WARNING), lines[0]
    assert f"{seeds / 'ai-factories.toml'}:3" in lines[0], lines[0]
    return result.stdout


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_reading_commands_show_the_last_good_state_with_one_warning(
        broken: Path, db_url: str, tmp_path: Path) -> None:
    """deadlines, changes, feeds build: exit 0, the stored call, one warning line."""
    seeds = str(broken)
    out = warned(run("--seeds", seeds, "deadlines", "--all", "--format", "json",
                     db_url=db_url), broken)
    assert "ai-factories/cutoff/2024-11-04" in out
    warned(run("--seeds", seeds, "changes", db_url=db_url), broken)
    out = warned(run("--seeds", seeds, "feeds", "build", "--out", str(tmp_path / "cal"),
                     db_url=db_url), broken)
    assert "written" in out
    assert "AI Factories" in (tmp_path / "cal" / "calls" / "ai-factories.ics").read_text()


def test_sync_still_refuses_a_broken_file_and_keeps_the_store(broken: Path,
                                                              db_url: str) -> None:
    """`sync` exits 2 naming the line; the stored call is untouched."""
    result = run("--seeds", str(broken), "sync", db_url=db_url)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{broken / 'ai-factories.toml'}:3" in result.output
    store = db.open_store(db_url)
    try:
        assert db.load_calls(store)["ai-factories"].title == "AI Factories"
    finally:
        store.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("command", [["calls"], ["show", "ai-factories"]])
def test_calls_and_show_fall_back_to_the_last_good_state(broken: Path, db_url: str,
                                                         command: list[str]) -> None:
    """What a reader would expect of `calls` and `show` with a broken file."""
    out = warned(run("--seeds", str(broken), *command, db_url=db_url), broken)
    assert "ai-factories" in out or "AI Factories" in out


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_daemon_keeps_going_and_status_names_the_broken_file(
        broken: Path, db_url: str, tmp_path: Path) -> None:
    """One scheduler tick with a broken file: feeds still built from the last good state, and
    `tracker status` shows the sync job's error with the file and line."""
    store = db.open_store(db_url)
    try:
        runner = daemon.Runner(store, [broken], tmp_path / "cal", BASE_URL, SENDER,
                               lambda: transport.MaildirTransport(tmp_path / "mail"))
        runner.tick(brussels(2024, 10, 28, 8))
    finally:
        store.close()
    assert (tmp_path / "cal" / "calls" / "ai-factories.ics").exists()
    result = run("status", db_url=db_url)
    assert result.exit_code == 0, result.output
    errors = [line for line in result.stdout.splitlines() if line.startswith("job error:")]
    assert len(errors) == 1, result.stdout
    assert "sync" in errors[0] and "a rule file is broken" in errors[0]
    assert f"{broken / 'ai-factories.toml'}:3" in errors[0]


# ------------------------------------------------------------------ defect 5

@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite: a file lock
def test_five_concurrent_syncs_on_an_empty_database_give_no_traceback(
        db_url: str, tmp_path: Path) -> None:
    """Five `tracker sync` processes race to create the schema: all succeed, one call."""
    seeds = write_seeds(tmp_path / "seeds")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(TRACKER_DATABASE_URL=db_url, PYTHONPATH=str(Path(__file__).parent.parent))
    procs = [subprocess.Popen([sys.executable, "-m", "tracker", "--seeds", str(seeds), "sync"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(5)]
    results = [(p.wait(60), *p.communicate()) for p in procs]
    tracebacks = sum("Traceback" in err for _, _, err in results)
    print(f"\n5 concurrent syncs ({db_url.split(':')[0]}): {tracebacks} tracebacks")
    assert tracebacks == 0, [err for _, _, err in results if err]
    assert [code for code, _, _ in results] == [0] * 5, results
    store = db.open_store(db_url)
    try:
        assert list(db.load_calls(store)) == ["ai-factories"]
    finally:
        store.close()
