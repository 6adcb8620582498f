"""Hardening, defect 4: SIGTERM on `tracker run` (with and without --serve) while a message is
held by a slow SMTP server: exit 0 within a few seconds, nothing left 'sending', and after
the rest is sent every subscriber has exactly one digest (a message may arrive twice only
with the same Message-ID: the server had it when the connection was cut).

Real parts: a `tracker run` subprocess, aiosmtpd on loopback holding the 3rd message, SQLite
and PostgreSQL. The daemon's grace for a message in flight is 5 s (tracker.daemon.GRACE).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.pg import free_port
from tests.runkit import prepare
from tests.smtpkit import SENDER, SmtpServer
from tracker import store as db
from tracker.mail import queue, smtpurl, transport
from tracker.models import OutboxState
from tracker.store import outbox

PEOPLE = tuple(f"p{i:02d}@uni.example" for i in range(12))
BOUND = 10.0  # seconds: the 5 s grace, the cut, and the process's own exit


def spawn_run(db_url: str, seeds: Path, smtp: SmtpServer, serve: bool) \
        -> subprocess.Popen[str]:
    """`tracker run` (with --serve on a free port, if asked) sending to the test server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(TRACKER_DATABASE_URL=db_url, TRACKER_SMTP_URL=smtp.url,
               PYTHONPATH=str(Path(__file__).parent.parent))
    args = [sys.executable, "-m", "tracker", "--seeds", str(seeds), "run", "--sync-every", "1h",
            "--allow-loopback-links"]
    if serve:
        args += ["--serve", "--port", str(free_port())]
    return subprocess.Popen(args, env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def trial(db_url: str, tmp_path: Path, smtp: SmtpServer, serve: bool) -> float:
    """SIGTERM while the 3rd message is held; returns the stop time; checks the outcome."""
    seeds = prepare(db_url, tmp_path, PEOPLE)
    smtp.hold(3, record=True)
    proc = spawn_run(db_url, seeds, smtp, serve)
    try:
        assert smtp.holding.wait(60), "the daemon never reached the 3rd message"
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
        took = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate()
    assert code == 0, err
    assert "Traceback" not in err, err
    store = db.open_store(db_url)
    try:
        left = [r for r in outbox.list_outbox(store) if r.state is OutboxState.SENDING]
        assert not left, f"{len(left)} message(s) left in 'sending'"
        smtp.release.set()
        later = datetime.now(UTC) + timedelta(days=1)  # past any retry wait
        queue.send_due(store, transport.SmtpTransport(smtpurl.parse_smtp_url(smtp.url)),
                       SENDER, later)
        rows = outbox.list_outbox(store, limit=1000)
    finally:
        store.close()
    assert rows and all(r.state is OutboxState.SENT for r in rows), Counter(r.state for r in rows)
    got = smtp.messages()
    per_person = Counter(r for m in {m.message_id: m for m in got}.values() for r in m.recipients)
    twice = [mid for mid, n in smtp.per_message_id().items() if n > 1]
    assert set(per_person) == set(PEOPLE) and set(per_person.values()) == {1}, per_person
    assert len(twice) <= 1, twice  # only the held one, with its own Message-ID
    variant = "--serve" if serve else "plain"
    print(f"\nSIGTERM ({variant}, {db_url.split(':')[0].split('+')[0]}): stopped in {took:.2f} s, "
          f"0 left sending, 0 duplicates ({len(twice)} resent with the same Message-ID)")
    assert took < BOUND
    return took


@pytest.mark.timed_waits  # the grace for the message in flight ends
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("serve", [False, True], ids=["plain", "serve"])
def test_sigterm_mid_send_stops_cleanly(db_url: str, tmp_path: Path, smtp: SmtpServer,
                                        serve: bool) -> None:
    """One trial of each variant (the fast subset)."""
    trial(db_url, tmp_path, smtp, serve)


@pytest.mark.slow
@pytest.mark.timed_waits
@pytest.mark.parametrize("attempt", range(5))
@pytest.mark.parametrize("serve", [False, True], ids=["plain", "serve"])
def test_sigterm_mid_send_stops_cleanly_ten_trials(db_url: str, tmp_path: Path,
                                                   smtp: SmtpServer, serve: bool,
                                                   attempt: int) -> None:
    """Five trials per back end and variant: ten per variant."""
    assert attempt >= 0
    trial(db_url, tmp_path, smtp, serve)
