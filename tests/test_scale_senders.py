"""Past one machine, on PostgreSQL: several senders share one outbox (claims with FOR UPDATE SKIP
LOCKED), a dead sender's batch comes back at once and goes out again with the same Message-IDs,
and several `tracker run` processes elect one leader that fails over when it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.runkit import env_for, prepare
from tests.smtpkit import SmtpServer
from tracker import store as db
from tracker.models import OutboxState
from tracker.store import claims, outbox
from tracker.store.state import get_state

PEOPLE = tuple(f"s{i:02d}@uni.example" for i in range(60))  # one batch of 50, and 10 more
pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def wait_until(check: Callable[[], bool], seconds: float = 60) -> None:
    """Poll `check` until it holds (an AssertionError after `seconds`)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.2)


@contextmanager
def opened(url: str) -> Iterator[db.Store]:
    """The store at `url`, closed afterwards."""
    store = db.open_store(url)
    try:
        yield store
    finally:
        store.close()


def counts(url: str) -> dict[OutboxState, int]:
    """Outbox rows per state, read afresh."""
    with opened(url) as store:
        return outbox.outbox_counts(store)


def start(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    """`tracker ARGS...` as a real process, its output in `log`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "tracker", *args], env={**clean, **env},
                                stdout=out, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen[bytes], log: Path) -> str:
    """SIGTERM, wait, and the process's output (it must have stopped cleanly)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    code = proc.wait(30)
    text = log.read_text(errors="replace")
    assert code == 0 and "Traceback" not in text, text[-3000:]
    return text


def row_locks(store: db.Store) -> int:
    """Outbox row locks held by any sender of this database."""
    with store.read() as conn:
        return int(conn.execute(sa.text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
            "database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND CAST(classid AS bigint) = :cls"), {"cls": claims.ROW_LOCKS}).scalar_one())


def delivered_once(smtp: SmtpServer, people: tuple[str, ...]) -> Counter[str]:
    """Every person has exactly one message (by Message-ID); returns the repeats."""
    unique = {m.message_id: m for m in smtp.messages()}
    assert Counter(r for m in unique.values() for r in m.recipients) == Counter(people)
    return Counter({mid: n for mid, n in smtp.per_message_id().items() if n > 1})


# ------------------------------------------------------------------ claims, in one process

def test_claims_never_overlap_and_a_dead_senders_rows_come_back_at_once(db_url: str,
                                                                         tmp_path: Path) -> None:
    prepare(db_url, tmp_path, PEOPLE[:6])
    now = datetime.now(UTC)
    with opened(db_url) as store:
        from tracker.mail import queue

        assert queue.queue_due(store, now, "https://grants.example.org", "t@example.org") \
            .digests == 6
        with claims.Claimer(store) as one, claims.Claimer(store) as two:
            first, second = one.claim(now, 4), two.claim(now, 4)
            assert len(first.rows) == 4 and len(second.rows) == 2
            assert not {r.id for r in first.rows} & {r.id for r in second.rows}
            assert two.claim(now, 4).rows == []  # the live sender keeps its rows
            assert one.conn is not None
            one.conn.invalidate()  # the first sender's session ends: its row locks go
            wait_until(lambda: row_locks(store) == len(second.rows), 10)
            back = two.claim(now, 10)
            assert sorted(r.id for r in back.rows) == sorted(r.id for r in first.rows)
            assert all(r.attempts == 2 for r in back.rows)  # the lost try counts
            # the first sender, reconnected, cannot settle what is no longer its claim
            one.settle(first, [claims.Outcome(r.id, OutboxState.FAILED) for r in first.rows],
                       now)
            assert outbox.outbox_counts(store)[OutboxState.FAILED] == 0
            two.settle(second, [claims.Outcome(r.id, OutboxState.SENT) for r in second.rows],
                       now)
            two.settle(back, [claims.Outcome(r.id, OutboxState.SENT) for r in back.rows], now)
        assert outbox.outbox_counts(store)[OutboxState.SENT] == 6


# ------------------------------------------------------------------ real processes

@pytest.mark.slow
def test_two_digest_sends_at_once_share_the_outbox(db_url: str, tmp_path: Path,
                                                   smtp: SmtpServer) -> None:
    """The first sender is held at its first message with a batch claimed; the second sends
    everything else meanwhile; nothing is sent twice."""
    seeds = prepare(db_url, tmp_path, PEOPLE)
    with opened(db_url) as store:
        env = env_for(store, seeds, tmp_path, smtp)
    smtp.hold(1, record=False)
    first = start(env, tmp_path / "first.log", "digest", "send")
    try:
        assert smtp.holding.wait(60), (tmp_path / "first.log").read_text()
        second = subprocess.run([sys.executable, "-m", "tracker", "digest", "send"],
                                env={**os.environ, **env}, capture_output=True, text=True,
                                timeout=120)
        assert second.returncode == 0, second.stderr
        assert f"sent {len(PEOPLE) - 50}" in second.stdout, second.stdout
    finally:
        smtp.release.set()
    first.wait(60)
    assert "sent 50" in (tmp_path / "first.log").read_text()
    assert delivered_once(smtp, PEOPLE) == Counter()
    assert counts(db_url)[OutboxState.SENT] == len(PEOPLE)


@pytest.mark.slow
def test_three_runs_one_killed_mid_batch_lose_nothing_and_the_leader_fails_over(
        db_url: str, tmp_path: Path, smtp: SmtpServer) -> None:
    """The first `tracker run` leads, queues everyone and is SIGKILLed holding a claimed batch
    (its second message taken by the server, unanswered); two more were started meanwhile.
    One of them takes the lead, the batch comes back, and everyone gets their digest."""
    seeds = prepare(db_url, tmp_path, PEOPLE)
    with opened(db_url) as store:
        env = env_for(store, seeds, tmp_path, smtp)
    run = ("run", "--sync-every", "1s")
    smtp.hold(2, record=True)
    leader = start(env, tmp_path / "a.log", *run)
    logs = [tmp_path / "b.log", tmp_path / "c.log"]
    others: list[subprocess.Popen[bytes]] = []
    try:
        assert smtp.holding.wait(60), (tmp_path / "a.log").read_text()
        others = [start(env, log, *run) for log in logs]
        wait_until(lambda: counts(db_url)[OutboxState.SENT] >= len(PEOPLE) - 50)
        sent_before = {m.message_id for m in smtp.messages()}
        leader.send_signal(signal.SIGKILL)
        leader.wait(10)
        killed = datetime.now(UTC)
        assert "event=leader role=leading" in (tmp_path / "a.log").read_text()
        wait_until(lambda: counts(db_url)[OutboxState.SENT] == len(PEOPLE))

        def synced_since_kill() -> bool:  # sync runs on the leader only
            with opened(db_url) as store:
                return datetime.fromisoformat(get_state(store)["last.sync"][0]) > killed
        wait_until(synced_since_kill, 30)
        took_over = [log for log in logs if "event=leader role=leading" in log.read_text()]
        assert len(took_over) == 1, took_over
    finally:
        smtp.release.set()
        if leader.poll() is None:
            leader.kill()
        for proc, log in zip(others, logs, strict=True):
            stop(proc, log)  # the second may take the lead while the first stops
    repeats = delivered_once(smtp, PEOPLE)
    assert set(repeats) <= sent_before and set(repeats.values()) <= {2}
    assert counts(db_url) == {OutboxState.PENDING: 0, OutboxState.SENDING: 0,
                              OutboxState.SENT: len(PEOPLE), OutboxState.FAILED: 0}
    print(f"\n3 runs on PostgreSQL, the leader killed mid-batch: 0 lost, {len(repeats)} resent "
          "with the same Message-ID, the lead taken over")
