"""The scheduler: simulated weeks and outages through Runner.tick, the real APScheduler with a
controlled clock, and the real `tracker run` process killed, restarted, locked and stopped."""

from __future__ import annotations

import email
import email.policy
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import amendment, rule_folder
from tests.smtpkit import SmtpServer, subscribe
from tracker import daemon, usecases
from tracker import store as db
from tracker.mail import transport
from tracker.models import OutboxState
from tracker.store import outbox as mail
from tracker.store.state import HEARTBEAT, Fact, get_state

RULE = """\
id = "rolling"
title = "Rolling call"
tags = ["ai"]
opens = 2024-09-10
closes = 2026-12-31

[cutoffs]
first = 2024-11-04
every = "3 months"
until = 2026-12-31
"""

MOVE = amendment("move", cutoff=date(2026, 8, 4), to=date(2026, 8, 11),
                 announced=date(2024, 1, 1))


class Sink:
    """The shared loopback SMTP server (tests.smtpkit), seen as a list of parsed messages."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    @property
    def messages(self) -> list[EmailMessage]:
        """What it accepted so far, in order."""
        return [r.message for r in self.server.messages()]

    @property
    def url(self) -> str:
        """TRACKER_SMTP_URL for it."""
        return self.server.url

    def wait_for(self, count: int, seconds: float = 30) -> None:
        """Until `count` messages arrived (an AssertionError after `seconds`)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return
            time.sleep(0.1)
        raise AssertionError(f"expected {count} messages, got {len(self.messages)}")


@pytest.fixture
def sink(smtp: SmtpServer) -> Sink:
    """A real SMTP server on loopback."""
    return Sink(smtp)


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    return rule_folder(tmp_path / "seeds", rolling=RULE)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[db.Store]:
    s = db.open_store(f"sqlite:///{tmp_path / 'tracker.db'}")
    yield s
    s.close()


def runner_for(store: db.Store, seeds: Path, tmp_path: Path, sink: Sink) -> daemon.Runner:
    return daemon.Runner(store, [seeds], tmp_path / "calendars", "https://feeds.example",
                            "Tracker <tracker@example.org>",
                            lambda: transport.transport_for(sink.url, tmp_path / "mail"))


def ticks(start: datetime, end: datetime, step: timedelta) -> Iterator[datetime]:
    t = start
    while t < end:
        yield t
        t += step


def test_a_week_of_ticks_sends_one_digest_a_day_at_0800_brussels_across_dst(
        store: db.Store, seeds: Path, tmp_path: Path, sink: Sink) -> None:
    created = datetime(2025, 10, 21, 12, 0, tzinfo=UTC)
    usecases.sync(store, [seeds], created)
    subscribe(store, "ana@example.org", created, every="daily", at="08:00",
                     tz="Europe/Brussels", empty=True)
    runner = runner_for(store, seeds, tmp_path, sink)
    for now in ticks(datetime(2025, 10, 22, tzinfo=UTC), datetime(2025, 10, 29, tzinfo=UTC),
                     timedelta(minutes=30)):
        runner.tick(now)
    dates = [email.utils.parsedate_to_datetime(m["Date"]).astimezone(UTC) for m in sink.messages]
    # 08:00 CEST is 06:00Z until the clocks go back on Sunday 26 October, then 07:00Z
    assert dates == [datetime(2025, 10, d, 6 if d < 26 else 7, 0, tzinfo=UTC)
                     for d in range(22, 29)]
    assert len({m["Message-ID"] for m in sink.messages}) == 7


def test_three_day_outage_gives_one_late_digest(store: db.Store, seeds: Path, tmp_path: Path,
                                                 sink: Sink) -> None:
    created = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    usecases.sync(store, [seeds], created)
    subscribe(store, "bo@example.org", created, every="daily", at="08:00", tz="UTC",
                     empty=True)
    runner = runner_for(store, seeds, tmp_path, sink)
    runner.tick(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    assert len(sink.messages) == 1
    # down from 2 March 09:00 to 5 March 14:00: the digests of 3, 4 and 5 March were missed
    (seeds / "rolling.toml").write_text(RULE + MOVE)
    runner.tick(datetime(2026, 3, 5, 14, 0, tzinfo=UTC))
    runner.tick(datetime(2026, 3, 5, 14, 1, tzinfo=UTC))
    assert len(sink.messages) == 2
    late = sink.messages[1]
    body = late.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "sent late" in body and "2026-03-05 08:00" in body
    assert "moved from 2026-08-04 17:00 CEST to 2026-08-11 17:00 CEST" in body
    runner.tick(datetime(2026, 3, 6, 8, 0, tzinfo=UTC))
    assert len(sink.messages) == 3
    third = sink.messages[2].get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "sent late" not in third
    assert "moved from" not in third  # told once, in the digest that followed the change


def test_real_apscheduler_with_a_controlled_clock(store: db.Store, seeds: Path, tmp_path: Path,
                                                  sink: Sink) -> None:
    created = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    usecases.sync(store, [seeds], created)
    subscribe(store, "cy@example.org", created, every="weekly", at="09:30", tz="UTC", empty=True)
    fake = {"now": datetime(2026, 3, 2, 9, 29, tzinfo=UTC)}  # a Monday, one minute early
    running = daemon.start(runner_for(store, seeds, tmp_path, sink), timedelta(seconds=1),
                           clock=lambda: fake["now"])
    try:  # the first mail run happens at once, at 09:29 on the fake clock: nothing is due
        wait_until(lambda: get_state(store).get(Fact.LAST.key("mail"), ("",))[0]
                   == fake["now"].isoformat())
        assert sink.messages == []
        fake["now"] = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
        running.scheduler.modify_job("mail", next_run_time=datetime.now(UTC))
        sink.wait_for(1, 10)
        assert (tmp_path / "calendars" / "index.json").exists()
    finally:
        running.stop()
    assert email.utils.parsedate_to_datetime(sink.messages[0]["Date"]) == fake["now"]
    assert len(sink.messages) == 1


# ---------------------------------------------------------------- the real `tracker run`

def run_env(tmp_path: Path, seeds: Path, sink: Sink) -> dict[str, str]:
    return {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
            "TRACKER_SEEDS": str(seeds), "TRACKER_SMTP_URL": sink.url,
            "TRACKER_CALENDARS": str(tmp_path / "calendars"),
            "TRACKER_MAIL_FROM": "tracker@example.org",
            "TRACKER_BASE_URL": "https://feeds.example"}


def start_run(env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tracker", "run", "--sync-every", "1s",
                             *extra], env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def subscribe_many(store: db.Store, n: int) -> None:
    yesterday = datetime.now(UTC) - timedelta(days=1)
    for i in range(n):
        subscribe(store, f"user{i}@example.org", yesterday, every="daily",
                         at="00:00", tz="UTC", empty=True)


def wait_until(check: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def test_killed_run_restarts_with_nothing_lost_or_doubled(store: db.Store, seeds: Path,
                                                           tmp_path: Path, sink: Sink) -> None:
    usecases.sync(store, [seeds], datetime.now(UTC))
    subscribe_many(store, 6)
    env = run_env(tmp_path, seeds, sink)
    first = start_run(env)
    try:
        sink.wait_for(1)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    before = get_state(store).get(HEARTBEAT, ("", None))[1]
    second = start_run(env)
    try:  # the second run is up (it has done its work once) before it is stopped
        wait_until(lambda: get_state(store).get(HEARTBEAT, ("", None))[1] != before)
        sink.wait_for(6)
        wait_until(lambda: mail.outbox_counts(store)[OutboxState.SENT] == 6)
    finally:
        second.send_signal(signal.SIGTERM)
        out, _ = second.communicate(timeout=20)
    assert second.returncode == 0, out
    per_address: dict[str, set[str]] = {}
    for m in sink.messages:
        per_address.setdefault(str(m["To"]), set()).add(str(m["Message-ID"]))
    assert sorted(per_address) == [f"user{i}@example.org" for i in range(6)]
    assert all(len(ids) == 1 for ids in per_address.values())  # a repeat keeps its Message-ID
    # at most the batch in flight (claimed, sent, not yet settled) went out twice
    assert max(Counter(str(m["Message-ID"]) for m in sink.messages).values()) <= 2
    assert "event=stopped" in out


@pytest.mark.timed_waits  # the sync job runs again every second
@pytest.mark.usefixtures("store")
def test_second_run_refuses_and_seed_edit_rebuilds_feed(seeds: Path, tmp_path: Path,
                                                        sink: Sink) -> None:
    env = run_env(tmp_path, seeds, sink)
    first = start_run(env)
    try:
        feed = tmp_path / "calendars" / "calls" / "rolling.ics"
        wait_until(feed.exists)
        second = subprocess.run([sys.executable, "-m", "tracker", "run"], env=env, text=True,
                                capture_output=True, timeout=30)
        assert second.returncode != 0
        assert "already running" in second.stderr and "Traceback" not in second.stderr
        assert "20260811T170000" not in feed.read_text()
        (seeds / "rolling.toml").write_text(RULE + MOVE)
        wait_until(lambda: "20260811T170000" in feed.read_text())
        text = feed.read_text()
        assert "SEQUENCE:1" in text
        status = subprocess.run([sys.executable, "-m", "tracker", "status"], env=env,
                                text=True, capture_output=True, timeout=30)
        assert "scheduler:  running" in status.stdout
    finally:
        first.send_signal(signal.SIGTERM)
        out, _ = first.communicate(timeout=20)
    assert first.returncode == 0, out
    assert "event=sync" in out and "event=stopped" in out
