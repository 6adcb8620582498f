"""The store, run against SQLite and a real PostgreSQL server with one parametrized fixture."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from typer.testing import CliRunner

from tests.faults import HELD
from tests.helpers import ROLLING_CUTOFFS, amendment, rule_folder
from tracker import store as db
from tracker import usecases
from tracker.calendar import feeds as feedset
from tracker.cli import app
from tracker.errors import RuleError, UsageError
from tracker.models import ChangeKind, Status
from tracker.store import schema

NOW = datetime(2024, 10, 1, 12, 0, tzinfo=UTC)

RULE = """\
id = "rolling"
title = "Rolling call"
identifiers = ["TEST-2024-ROLL-01"]
tags = ["ai"]
opens = 2024-09-10
closes = 2025-12-31
submission = "multiple-cutoff"

""" + ROLLING_CUTOFFS + """
[budget]
amount = 1_000_000
currency = "EUR"
"""

MOVE = amendment("move", cutoff=date(2025, 2, 4), to=date(2025, 2, 11),
                 announced=date(2024, 9, 30), source="https://example.org/notice")


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    """A seeds folder with one rolling call."""
    return rule_folder(tmp_path / "seeds", rolling=RULE)


@pytest.fixture
def store(db_url: str) -> Iterator[db.Store]:
    """An opened (migrated) store."""
    s = db.open_store(db_url)
    yield s
    s.close()


def cutoff(store: db.Store, day: str) -> dict[str, object]:
    """The stored row of the rolling call's cut-off scheduled on `day`."""
    row = db.occurrence_state(store, f"rolling/cutoff/{day}")
    assert row is not None
    return row


def test_first_sync_inserts_and_second_writes_nothing(store: db.Store, seeds: Path) -> None:
    first = usecases.sync(store, [seeds], NOW)
    assert first.wrote and first.added == 1 + 1 + 5 + 1  # call, opening, 5 cut-offs, closing
    before = db.counts(store)
    again = usecases.sync(store, [seeds], NOW + timedelta(hours=1))
    assert not again.wrote and again.total == 0
    assert db.counts(store) == before
    assert cutoff(store, "2024-11-04")["sequence"] == 0


def test_moved_cutoff_keeps_id_raises_sequence_and_shows_both_dates(
        store: db.Store, seeds: Path) -> None:
    usecases.sync(store, [seeds], NOW)
    old = cutoff(store, "2025-02-04")
    (seeds / "rolling.toml").write_text(RULE + MOVE)
    later = NOW + timedelta(days=1)
    report = usecases.sync(store, [seeds], later)
    assert report.changed == 1 and report.added == 0
    new = cutoff(store, "2025-02-04")
    assert new["sequence"] == old["sequence"] + 1  # type: ignore[operator]
    assert new["start_local"] == "2025-02-11T17:00:00+01:00"
    assert new["last_modified"] == later.replace(tzinfo=None)
    (move,) = [c for c in usecases.changes(store, None) if c.change == "moved"]  # one line
    assert (move.field, move.old, move.new) == (
        "start_local", "2025-02-04T17:00:00+01:00", "2025-02-11T17:00:00+01:00")
    assert move.entity_id == "rolling/cutoff/2025-02-04"
    assert move.source == "https://example.org/notice"
    assert move.known_on == date(2024, 9, 30)  # dated by the amendment, not by the sync
    # the untouched cut-offs did not get a new revision
    assert cutoff(store, "2025-05-04")["sequence"] == 0


def test_removed_cutoff_is_withdrawn_not_deleted(store: db.Store, seeds: Path) -> None:
    usecases.sync(store, [seeds], NOW)
    (seeds / "rolling.toml").write_text(RULE.replace('until = 2025-12-31', 'until = 2025-06-30'))
    report = usecases.sync(store, [seeds], NOW + timedelta(days=1))
    assert report.withdrawn == 2  # 2025-08-04 and 2025-11-04
    gone = cutoff(store, "2025-08-04")
    assert gone["withdrawn"] is True and gone["sequence"] == 1 and gone["status"] == "withdrawn"
    listed = usecases.stored_deadlines(store, usecases.Query(now=NOW))
    assert "rolling/cutoff/2025-08-04" not in {o.id for o in listed}
    kinds = [c.change for c in usecases.changes(store, NOW + timedelta(days=1))]
    assert kinds.count(ChangeKind.WITHDRAWN) == 2
    # putting it back restores the same row (same id), with a higher sequence
    (seeds / "rolling.toml").write_text(RULE)
    usecases.sync(store, [seeds], NOW + timedelta(days=2))
    back = cutoff(store, "2025-08-04")
    assert back["withdrawn"] is False and back["sequence"] == 2


def test_cancellation_and_budget_revision_are_recorded(store: db.Store, seeds: Path) -> None:
    usecases.sync(store, [seeds], NOW)
    (seeds / "rolling.toml").write_text(RULE + """
[[amendments]]
action = "cancel"
cutoff = 2025-11-04
announced = 2024-09-30
note = "funds exhausted"

[[amendments]]
action = "budget"
remaining = 0
announced = 2024-09-30
""")
    usecases.sync(store, [seeds], NOW + timedelta(days=1))
    log = usecases.changes(store, None)
    cancelled = [c for c in log if c.change == "cancelled"]
    assert cancelled and cancelled[0].entity_id == "rolling/cutoff/2025-11-04"
    budget = [c for c in log if c.change == "budget"]
    assert [(c.field, c.old, c.new) for c in budget] == [("budget_remaining", "", "0")]
    item = next(o for o in usecases.stored_deadlines(store, usecases.Query(now=NOW))
                if o.id == "rolling/cutoff/2025-11-04")
    assert item.status is Status.CANCELLED


def test_broken_file_aborts_the_whole_sync(store: db.Store, seeds: Path) -> None:
    usecases.sync(store, [seeds], NOW)
    before = db.counts(store)
    (seeds / "rolling.toml").write_text(RULE + MOVE)
    (seeds / "broken.toml").write_text('id = "b"\ntitel = "x"\n')
    with pytest.raises(RuleError) as err:
        usecases.sync(store, [seeds], NOW + timedelta(days=1))
    assert "broken.toml:2" in str(err.value)
    assert db.counts(store) == before
    assert cutoff(store, "2025-02-04")["sequence"] == 0


def test_listing_from_store_matches_expansion(store: db.Store, seeds: Path) -> None:
    usecases.sync(store, [seeds], NOW)
    rules = usecases.rules_from([seeds])
    for query in (usecases.Query(now=NOW), usecases.Query(now=NOW, include_past=True),
                  usecases.Query(now=datetime(2025, 6, 1, tzinfo=UTC)),
                  usecases.Query(now=NOW, calls=("TEST-2024-ROLL-01",), tags=("ai",))):
        expected = usecases.deadlines(rules, query)
        got = usecases.stored_deadlines(store, query)
        assert [(o.id, o.start, o.status) for o in got] == \
            [(o.id, o.start, o.status) for o in expected]


def test_schema_matches_the_code(store: db.Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    assert diff == []


def test_database_from_first_migration_upgrades_with_history(db_url: str, seeds: Path) -> None:
    engine = db.make_engine(db_url)
    db.upgrade(engine, "0001")
    stamp = datetime(2024, 9, 1)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO calls (id, type, title, timezone, first_seen, last_modified, revision) "
            "VALUES ('rolling', 'call', 'Old title', 'Europe/Brussels', :s, :s, 3)"), {"s": stamp})
        conn.execute(sa.text(
            "INSERT INTO revisions (entity, entity_id, call_id, change, field, old, new, "
            "detected_at) VALUES ('call', 'rolling', 'rolling', 'changed', 'title', 'A', "
            "'Old title', :s)"), {"s": stamp})
    engine.dispose()
    assert db.current_revision(db.make_engine(db_url)) == "0001"
    store = db.open_store(db_url)
    assert db.current_revision(store.engine) == db.head_revision() != "0001"
    old = usecases.changes(store, None)
    assert [(c.field, c.old, c.new) for c in old] == [("title", "A", "Old title")]
    usecases.sync(store, [seeds], NOW)
    log = db.history(store)  # every field, not one line per change
    assert log[0].new == "Old title"  # history intact, new history appended
    title = [c for c in log if c.field == "title" and c.new == "Rolling call"]
    assert title and title[0].old == "Old title"
    with store.read() as conn:
        rev = conn.execute(sa.text("SELECT revision FROM calls WHERE id='rolling'")).scalar()
    assert rev == 4
    store.close()


def _cli(db_url: str, seeds: Path, *args: str, hold: float = 0) -> subprocess.Popen[str]:
    """`tracker ARGS` in a subprocess; `hold`: pause that long before the sync commits."""
    environ = {**os.environ, "TRACKER_DATABASE_URL": db_url, "TRACKER_SEEDS": str(seeds)}
    command = ["-m", "tests.faults", str(hold)] if hold else ["-m", "tracker"]
    return subprocess.Popen([sys.executable, *command, *args], env=environ, text=True,
                            cwd=Path(__file__).parent.parent, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _wait_for_line(proc: subprocess.Popen[str], needle: str, seconds: float = 30) -> None:
    assert proc.stderr is not None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if needle in line:
            return
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"the sync never reached '{needle}'")


def test_sync_killed_mid_way_leaves_old_state(store: db.Store, db_url: str, seeds: Path) -> None:
    usecases.sync(store, [seeds], NOW)
    before = db.counts(store)
    (seeds / "rolling.toml").write_text(RULE + MOVE)
    proc = _cli(db_url, seeds, "sync", hold=60)
    _wait_for_line(proc, HELD)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    store.engine.dispose()  # forget pooled connections: PostgreSQL may still be aborting
    assert db.counts(store) == before
    assert cutoff(store, "2025-02-04")["sequence"] == 0
    # and the next sync applies the change exactly once
    assert usecases.sync(store, [seeds], NOW).changed == 1


def test_two_syncs_at_once_do_not_duplicate(store: db.Store, db_url: str, seeds: Path) -> None:
    usecases.sync(store, [seeds], NOW)
    (seeds / "rolling.toml").write_text(RULE + MOVE)
    first = _cli(db_url, seeds, "sync", hold=2)
    _wait_for_line(first, HELD)
    second = _cli(db_url, seeds, "sync")
    out1, err1 = first.communicate(timeout=60)
    out2, err2 = second.communicate(timeout=60)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    assert "1 changed" in out1
    assert "Up to date" in out2  # it waited for the lock, then found nothing to do
    assert cutoff(store, "2025-02-04")["sequence"] == 1
    assert len([c for c in usecases.changes(store, None) if c.change == "moved"]) == 1


def test_cli_sync_then_changes_shows_the_move(db_url: str, seeds: Path) -> None:
    runner = CliRunner()
    env = {"TRACKER_DATABASE_URL": db_url, "TRACKER_SEEDS": str(seeds)}
    assert runner.invoke(app, ["sync"], env=env).exit_code == 0
    (seeds / "rolling.toml").write_text(RULE + MOVE)
    result = runner.invoke(app, ["sync"], env=env)
    assert result.exit_code == 0 and "1 changed" in result.output
    result = runner.invoke(app, ["changes", "--call", "rolling"], env=env)
    assert result.exit_code == 0
    (line,) = [x for x in result.output.splitlines() if "moved" in x]  # one change, one line
    assert "Rolling call — cut-off 2: moved from 2025-02-04 17:00 CET to 2025-02-11 17:00 CET" \
        in line
    assert line.startswith("2024-09-30") and "https://example.org/notice" in line


def test_deadlines_syncs_first_when_seeds_are_newer(db_url: str, seeds: Path) -> None:
    runner = CliRunner()
    env = {"TRACKER_DATABASE_URL": db_url, "TRACKER_SEEDS": str(seeds), "TZ": "UTC"}
    out = runner.invoke(app, ["deadlines", "--all", "-f", "json"], env=env)
    assert out.exit_code == 0, out.output
    assert "2025-02-04T17:00:00+01:00" in out.output
    (seeds / "rolling.toml").write_text(RULE + MOVE)
    out = runner.invoke(app, ["deadlines", "--all", "-f", "json"], env=env)
    assert "2025-02-11T17:00:00+01:00" in out.output
    assert "2025-02-04T17:00:00+01:00" in out.output  # as moved_from


def test_db_upgrade_command(db_url: str) -> None:
    result = CliRunner().invoke(app, ["db", "upgrade"], env={"TRACKER_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    assert f"-> {db.head_revision()}" in result.output
    again = CliRunner().invoke(app, ["db", "upgrade"], env={"TRACKER_DATABASE_URL": db_url})
    assert "already at schema" in again.output


def test_an_amendment_announced_later_is_picked_up_on_its_day(store: db.Store,
                                                              seeds: Path) -> None:
    (seeds / "rolling.toml").write_text(RULE + MOVE.replace("2024-09-30", "2024-10-15"))
    usecases.sync(store, [seeds], NOW)  # 1 October: the move is not public yet
    assert cutoff(store, "2025-02-04")["start_local"] == "2025-02-04T17:00:00+01:00"
    assert usecases.ensure_synced(store, [seeds], NOW + timedelta(days=1)).report is None
    on_the_day = datetime(2024, 10, 15, 8, 0, tzinfo=UTC)  # 10:00 in Brussels
    assert usecases.ensure_synced(store, [seeds], on_the_day).report is not None
    assert cutoff(store, "2025-02-04")["start_local"] == "2025-02-11T17:00:00+01:00"
    later = on_the_day + timedelta(hours=1)
    assert usecases.ensure_synced(store, [seeds], later).report is None


def test_withdrawn_call_keeps_its_tags_and_budget_change_bumps_events(
        store: db.Store, seeds: Path) -> None:
    usecases.sync(store, [seeds], NOW)
    (seeds / "rolling.toml").write_text(RULE.replace("amount = 1_000_000",
                                                     "amount = 1_000_000\nremaining = 10"))
    usecases.sync(store, [seeds], NOW + timedelta(days=1))
    assert cutoff(store, "2024-11-04")["sequence"] == 1  # its description shows the budget
    (seeds / "rolling.toml").unlink()
    (seeds / "other.toml").write_text('id = "other"\ntitle = "Other"\ntype = "milestones"\n')
    with pytest.raises(UsageError, match="rolling"):  # a missing file is never a withdrawal
        usecases.sync(store, [seeds], NOW + timedelta(days=2), "refuse")
    kept = usecases.sync(store, [seeds], NOW + timedelta(days=2))  # what a listing does
    assert kept.orphans == ["rolling"] and cutoff(store, "2024-11-04")["withdrawn"] is False
    assert db.load_calls(store)["rolling"].orphaned
    usecases.sync(store, [seeds], NOW + timedelta(days=2), "prune")
    assert db.load_calls(store)["rolling"].tags == ("ai",)
    assert cutoff(store, "2024-11-04")["withdrawn"] is True


def test_an_empty_seeds_folder_is_an_error_not_a_withdrawal(store: db.Store,
                                                            seeds: Path) -> None:
    usecases.sync(store, [seeds], NOW)
    before = db.counts(store)
    (seeds / "rolling.toml").unlink()
    with pytest.raises(RuleError, match="no rule files"):
        usecases.sync(store, [seeds], NOW + timedelta(days=1))
    assert db.counts(store) == before


def test_a_cutoff_moved_onto_the_closing_day_does_not_cancel_the_closing(
        store: db.Store, seeds: Path) -> None:
    usecases.sync(store, [seeds], NOW)
    assert db.occurrence_state(store, "rolling/closing") is not None
    onto_closing = MOVE.replace("cutoff = 2025-02-04", "cutoff = 2025-11-04") \
        .replace("to = 2025-02-11", "to = 2025-12-31")
    (seeds / "rolling.toml").write_text(RULE + onto_closing)
    usecases.sync(store, [seeds], NOW + timedelta(days=1))
    closing = db.occurrence_state(store, "rolling/closing")
    assert closing is not None and closing["status"] == "merged"
    listed = usecases.stored_deadlines(store, usecases.Query(now=NOW))
    assert "rolling/closing" not in {o.id for o in listed}
    data = feedset.gather(store)
    assert "rolling/closing" not in {o.id for o in data.items}  # no "closes (cancelled)"
    (seeds / "rolling.toml").write_text(RULE)  # the cut-off moves away again
    usecases.sync(store, [seeds], NOW + timedelta(days=2))
    back = db.occurrence_state(store, "rolling/closing")
    assert back is not None and back["withdrawn"] is False and back["status"] == "confirmed"


@pytest.mark.parametrize("clock_ahead", [timedelta(0), timedelta(days=365)],
                         ids=["same-clock", "clock-a-year-ahead-of-the-files"])
def test_rule_files_are_read_again_until_their_stat_has_settled(
        store: db.Store, seeds: Path, clock_ahead: timedelta) -> None:
    rule = seeds / "rolling.toml"
    written = datetime.fromtimestamp(rule.stat().st_mtime, UTC) + clock_ahead
    mtime = rule.stat().st_mtime_ns

    def rewrite(text: str) -> None:  # same size, same modification time: one clock tick
        assert len(text) == len(rule.read_text())
        rule.write_text(text)
        os.utime(rule, ns=(mtime, mtime))

    usecases.sync(store, [seeds], written + timedelta(seconds=1))
    rewrite(RULE.replace("Rolling call", "Rolling CALL"))
    # its stat was first seen a moment ago: not trusted yet, the edit is seen
    assert usecases.sync(store, [seeds], written + timedelta(seconds=1)).changed >= 1
    assert usecases.sync(store, [seeds], written + timedelta(seconds=10)).total == 0
    rewrite(RULE.replace("Rolling call", "Rolling cal!").replace('id = "', 'id = !', 1))
    # settled, same stat: the file is not read again (the broken text is not even seen)
    assert usecases.sync(store, [seeds], written + timedelta(seconds=20)).total == 0
    rule.write_text(RULE + "\n# a comment\n")  # another size: read whatever the clock
    assert usecases.sync(store, [seeds], written + timedelta(seconds=30)).changed >= 1


def test_status_reads_the_facts_an_earlier_version_stored(store: db.Store) -> None:
    """The runtime-state keys are spelt as the earlier versions stored them."""
    from tracker.cli.views import status_text
    from tracker.store.state import put_state

    put_state(store, {"heartbeat": "2024-10-01T11:59:00+00:00",
                      "next.sync": "2024-10-01T12:05:00+00:00", "next.mail": "",
                      "last.sync": "2024-10-01T11:59:00+00:00", "error.feeds": "disk full",
                      "error.mail": "", "import.cbe": "ok: ftportal: 5 new",
                      "import.cbe.finished": "2024-10-01T06:00:00+00:00",
                      "next.import-cbe": "2024-10-02T06:00:00+00:00"}, NOW)
    shown = status_text(usecases.status(store, NOW)).splitlines()
    assert "heartbeat:  2024-10-01 12:00:00Z (0 min ago)" in shown
    assert [line for line in shown if line.startswith(("job error:", "import:"))] == [
        "job error:  feeds: disk full",
        "import:     cbe: ok: ftportal: 5 new (next 2024-10-02T06:00Z)"]
