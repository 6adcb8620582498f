"""Mail delivery when things go wrong: outages, repeated runs, a killed sender, a refused
address, a broken subscriber, no SMTP at all, two senders at once.

Real parts only: aiosmtpd on loopback, the outbox on SQLite and on a real PostgreSQL, the
`tracker` command in-process (CliRunner) or as a real subprocess, on a clock stopped at T.
"""

from __future__ import annotations

import mailbox
import signal
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.runkit import cli, env_for, send, send_after_crash, spawn, states
from tests.smtpkit import (
    BASE_URL,
    SENDER,
    SmtpServer,
    brussels,
    follow,
    parse,
    smtp_server,
    write_seeds,
)
from tracker import store as db
from tracker import usecases
from tracker.mail import queue
from tracker.store import outbox as mail
from tracker.store import schema

SYNCED = brussels(2024, 10, 1, 9)
T = brussels(2024, 10, 28, 8)  # a week before the 4 Nov 2024 cut-off: digest + 7-day alert
PEOPLE = ("ana@uni.example", "ben@uni.example", "cho@uni.example")


# ------------------------------------------------------------------ fixtures

@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    """The AI Factories rule."""
    return write_seeds(tmp_path / "seeds")


@pytest.fixture
def store(db_url: str, seeds: Path) -> Iterator[db.Store]:
    """An opened store, synced with the seeds before anyone subscribed."""
    s = db.open_store(db_url)
    usecases.sync(s, [seeds], SYNCED)
    yield s
    s.close()


# ------------------------------------------------------------------ outages

def test_server_down_nothing_lost_then_every_message_delivered_once(
        store: db.Store) -> None:
    for who in PEOPLE:
        follow(store, who)
    with smtp_server(running=False) as smtp:
        queued = queue.queue_due(store, T, BASE_URL, SENDER)
        assert (queued.digests, queued.alerts) == (3, 3)
        report = send(store, smtp, T)
        assert report.sent == 0 and report.retried == 6
        rows = mail.list_outbox(store)
        assert len(rows) == 6
        for r in rows:
            assert r.state == "pending" and r.attempts == 1
            assert r.last_error and str(smtp.port) in r.last_error
            assert r.next_attempt_at > T
        first_wait = {r.id: r.next_attempt_at - T for r in rows}
        message_ids = {r.message_id for r in rows}

        # still down at the retry time: wait longer (exponential backoff)
        retry = max(r.next_attempt_at for r in rows)
        assert send(store, smtp, retry).retried == 6
        rows = mail.list_outbox(store)
        assert all(r.attempts == 2 and r.state == "pending" for r in rows)
        assert all(r.next_attempt_at - retry > first_wait[r.id] for r in rows)

        smtp.start()
        assert send(store, smtp, retry).sent == 0  # back, but the retry time has not come
        assert smtp.messages() == []
        later = max(r.next_attempt_at for r in mail.list_outbox(store))
        assert send(store, smtp, later).sent == 6
        assert send(store, smtp, later + timedelta(hours=1)).sent == 0
        queue.queue_due(store, later + timedelta(hours=1), BASE_URL, SENDER)
        assert send(store, smtp, later + timedelta(hours=1)).sent == 0

        counts = smtp.per_message_id()
        assert set(counts) == message_ids  # the Message-ID made at queue time, kept
        assert set(counts.values()) == {1}
        for who in PEOPLE:
            assert len(smtp.to(who)) == 2  # the digest and the 7-day alert
    assert set(states(store).values()) == {("sent", "sent")}


def test_server_lost_mid_batch_loses_nothing_and_sends_nothing_twice(
        store: db.Store, smtp: SmtpServer) -> None:
    for who in PEOPLE:
        follow(store, who)
    queue.queue_due(store, T, BASE_URL, SENDER)
    smtp.hold(2, record=False)  # the 2nd message never gets its 250: the server goes away

    def outage() -> None:
        if smtp.holding.wait(15):
            smtp.stop()

    killer = threading.Thread(target=outage)
    killer.start()
    report = send(store, smtp, T)
    killer.join(15)
    assert report.sent == 1 and report.retried == 5 and report.failed == 0
    rows = mail.list_outbox(store)
    assert sorted(r.state for r in rows) == ["pending"] * 5 + ["sent"]
    assert all(r.next_attempt_at > T for r in rows if r.state == "pending")

    smtp.start()
    later = max(r.next_attempt_at for r in rows)
    assert send(store, smtp, later).sent == 5
    counts = smtp.per_message_id()
    assert set(counts) == {r.message_id for r in rows}
    assert set(counts.values()) == {1}


# ------------------------------------------------------------------ running twice

def test_same_run_twice_at_the_same_moment_sends_each_message_once(
        store: db.Store, smtp: SmtpServer) -> None:
    for who in PEOPLE:
        follow(store, who)
    first = queue.queue_due(store, T, BASE_URL, SENDER)
    assert send(store, smtp, T).sent == 6
    again = queue.queue_due(store, T, BASE_URL, SENDER)
    assert (first.digests, first.alerts) == (3, 3)
    assert (again.digests, again.alerts) == (0, 0)
    assert send(store, smtp, T).sent == 0
    assert len(smtp.messages()) == 6
    assert set(smtp.per_message_id().values()) == {1}


def test_cli_digest_send_twice_sends_each_digest_once(
        store: db.Store, seeds: Path, tmp_path: Path, smtp: SmtpServer) -> None:
    for who in PEOPLE:
        follow(store, who, alerts="")
    env = env_for(store, seeds, tmp_path, smtp)
    first = cli(env, "digest", "send", now=T)
    assert first.exit_code == 0, first.output
    assert "Queued 3 digest(s)" in first.stdout and "sent 3" in first.stdout
    second = cli(env, "digest", "send", now=T)
    assert second.exit_code == 0, second.output
    assert "Queued 0 digest(s) and 0 alert(s)" in second.stdout and "sent 0" in second.stdout
    assert sorted(r for m in smtp.messages() for r in m.recipients) == sorted(PEOPLE)
    assert set(smtp.per_message_id().values()) == {1}


# ------------------------------------------------------------------ a killed sender

def test_sender_killed_mid_batch_then_restarted_delivers_to_everyone(
        store: db.Store, seeds: Path, tmp_path: Path, smtp: SmtpServer) -> None:
    people = (*PEOPLE, "dan@uni.example")
    for who in people:
        follow(store, who, alerts="")
    assert queue.queue_due(store, T, BASE_URL, SENDER).digests == 4
    env = env_for(store, seeds, tmp_path, smtp)
    # the server takes the 2nd message but holds its 250: the sender is killed waiting for it
    smtp.hold(2, record=True)
    proc = spawn(env, "digest", "send", now=T)
    try:
        assert smtp.holding.wait(30), proc.stderr.read() if proc.stderr and \
            proc.poll() is not None else ""
        in_flight = smtp.messages()[-1].message_id
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()
    store.engine.dispose()
    # the four were claimed as one batch, to be settled together: none is settled yet
    assert sorted(s for v in states(store).values() for s in v) == ["sending"] * 4
    before = {m.message_id for m in smtp.messages()}
    assert in_flight in before and len(before) == 2

    result = send_after_crash(env, T)
    assert result.exit_code == 0, result.output
    assert "sent 4" in result.stdout  # the crashed batch, again

    got = {who: [m.message_id for m in smtp.to(who)] for who in people}
    assert all(got.values()), got  # everyone has their digest
    counts = smtp.per_message_id()
    # the two the server took before the crash came twice, with the same Message-ID
    assert {mid: n for mid, n in counts.items() if n > 1} == dict.fromkeys(before, 2)
    assert sum(counts.values()) == 6
    assert set(states(store).values()) == {("sent",)}


# ------------------------------------------------------------------ one bad apple

def _break_zone(store: db.Store, email: str) -> None:
    """A subscriber whose stored zone left the zone database (as US/Pacific-New did in 2020)."""
    with store.write() as conn:
        conn.execute(sa.update(schema.subscribers).where(schema.subscribers.c.email == email)
                     .values(timezone="US/Pacific-New"))


def test_refused_address_and_broken_subscriber_do_not_stop_the_others_cli(
        store: db.Store, seeds: Path, tmp_path: Path, smtp: SmtpServer) -> None:
    for who in ("ana@uni.example", "bad@uni.example", "ben@uni.example", "zed@uni.example"):
        follow(store, who, alerts="")
    _break_zone(store, "zed@uni.example")
    smtp.refuse("bad@uni.example", "550 5.1.1 <bad@uni.example>: no such user")
    env = env_for(store, seeds, tmp_path, smtp)
    result = cli(env, "digest", "send", now=T)
    assert result.exit_code == 1  # something needs the operator's eye
    assert "sent 2" in result.stdout and "failed 1" in result.stdout
    assert "zed@uni.example" in result.stderr and "US/Pacific-New" in result.stderr
    assert "bad@uni.example" in result.stderr and "550" in result.stderr
    # both good subscribers got theirs in this very run
    assert [len(smtp.to(w)) for w in ("ana@uni.example", "ben@uni.example")] == [1, 1]
    assert smtp.to("bad@uni.example") == [] and smtp.to("zed@uni.example") == []
    assert states(store)["bad@uni.example"] == ("failed",)

    shown = cli(env, "outbox", "--state", "failed")
    assert shown.exit_code == 0, shown.output
    line = next(x for x in shown.stdout.splitlines() if "bad@uni.example" in x)
    assert "failed" in line and "550" in line
    assert "refused the address: 5.1.1 <bad@uni.example>: no such user" in line  # in words
    assert "b'" not in line and "{" not in line  # not a Python repr
    assert "failed: 1" in shown.stdout

    # a permanent failure is not retried
    again = cli(env, "digest", "send", now=T)
    assert "sent 0" in again.stdout
    assert smtp.to("bad@uni.example") == []


def test_temporary_refusal_is_retried_and_the_others_are_not_held_up(
        store: db.Store, smtp: SmtpServer) -> None:
    for who in ("ana@uni.example", "bad@uni.example", "ben@uni.example", "zed@uni.example"):
        follow(store, who, alerts="")
    _break_zone(store, "zed@uni.example")
    smtp.refuse("bad@uni.example", "451 4.3.0 mailbox busy, try again later")
    queued = queue.queue_due(store, T, BASE_URL, SENDER)
    assert queued.digests == 3
    assert len(queued.errors) == 1 and "zed@uni.example" in queued.errors[0]
    report = send(store, smtp, T)
    assert (report.sent, report.retried, report.failed) == (2, 1, 0)
    assert [len(smtp.to(w)) for w in ("ana@uni.example", "ben@uni.example")] == [1, 1]
    [row] = [r for r in mail.list_outbox(store) if r.recipient == "bad@uni.example"]
    assert row.state == "pending" and "451" in row.last_error and row.next_attempt_at > T

    smtp.replies.clear()  # the mailbox is free again
    assert send(store, smtp, row.next_attempt_at).sent == 1
    [got] = smtp.to("bad@uni.example")
    assert got.message_id == row.message_id
    assert set(smtp.per_message_id().values()) == {1}


# ------------------------------------------------------------------ no SMTP configured

def test_without_smtp_digest_send_files_mail_in_the_maildir_and_says_where(
        store: db.Store, seeds: Path, tmp_path: Path) -> None:
    follow(store, "ana@uni.example")
    follow(store, "ben@uni.example")
    assert queue.queue_due(store, T, BASE_URL, SENDER).digests == 2
    folder = tmp_path / "delivered"
    env = env_for(store, seeds, tmp_path, TRACKER_MAILDIR=str(folder))
    result = cli(env, "digest", "send", now=T)
    assert result.exit_code == 0, result.output
    assert "sent 4" in result.stdout and str(folder) in result.stdout
    box = mailbox.Maildir(folder, create=False)
    messages = [parse(box.get_bytes(key)) for key in box.iterkeys()]
    assert sorted(str(m["To"]) for m in messages) == \
        ["ana@uni.example"] * 2 + ["ben@uni.example"] * 2
    subjects = sorted(str(m["Subject"]) for m in messages)
    assert sum(s.startswith("7 days left") for s in subjects) == 2
    assert sum(s.startswith("Grant deadlines") for s in subjects) == 2
    assert set(states(store).values()) == {("sent", "sent")}


# ------------------------------------------------------------------ two senders

@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # PostgreSQL: test_scale_senders
def test_second_sender_refuses_while_the_first_is_sending(
        store: db.Store, seeds: Path, tmp_path: Path, smtp: SmtpServer) -> None:
    for who in PEOPLE:
        follow(store, who, alerts="")
    queue.queue_due(store, T, BASE_URL, SENDER)
    env = env_for(store, seeds, tmp_path, smtp)
    smtp.hold(1, record=False)
    first = spawn(env, "digest", "send", now=T)
    try:
        assert smtp.holding.wait(30), "the first sender never reached the server"
        second = cli(env, "digest", "send", now=T)
        assert second.exit_code == 4
        [line] = second.stderr.strip().splitlines()
        assert "another tracker process" in line and "already running" in line
        assert smtp.messages() == []
        smtp.release.set()
        out, err = first.communicate(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate(timeout=10)
    assert first.returncode == 0, err
    assert "sent 3" in out
    assert sorted(r for m in smtp.messages() for r in m.recipients) == sorted(PEOPLE)
    assert set(smtp.per_message_id().values()) == {1}


def test_a_three_day_outage_delays_mail_but_never_fails_it(store: db.Store) -> None:
    follow(store, PEOPLE[0])
    with smtp_server(running=False) as smtp:
        queue.queue_due(store, T, BASE_URL, SENDER)
        now = T
        for _ in range(200):  # every retry of three days of outage (about 50)
            send(store, smtp, now)
            rows = mail.list_outbox(store)
            assert {r.state for r in rows} == {"pending"}
            now = max(now, min(r.next_attempt_at for r in rows))
            if now > T + timedelta(days=3):
                break
        assert now > T + timedelta(days=3)
        waits = [r.next_attempt_at - now for r in mail.list_outbox(store)]
        assert all(w <= timedelta(hours=7.5) for w in waits)  # capped near six hours
        smtp.start()
        later = max(r.next_attempt_at for r in mail.list_outbox(store))
        assert send(store, smtp, later).sent == 2
    assert set(states(store).values()) == {("sent", "sent")}


def test_failed_mail_can_be_queued_again(store: db.Store, tmp_path: Path, seeds: Path) -> None:
    follow(store, PEOPLE[0])
    with smtp_server() as smtp:
        smtp.refuse(PEOPLE[0], "550 5.1.1 no such user")
        queue.queue_due(store, T, BASE_URL, SENDER)
        assert send(store, smtp, T).failed == 2
    env = env_for(store, seeds, tmp_path)
    result = cli(env, "retry", "--all", now=T)
    assert result.exit_code == 0 and "2 message(s) queued again" in result.output
    with smtp_server() as smtp:
        assert send(store, smtp, T).sent == 2  # due again from the moment of the retry
        assert len(smtp.to(PEOPLE[0])) == 2
