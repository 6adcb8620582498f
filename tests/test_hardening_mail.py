"""Hardening, mail faults on PostgreSQL too: a relay that refuses 30% of the recipients for a
while, and five `tracker digest send` processes SIGKILLed mid-batch. Nothing is lost; a
message arrives twice only with the same Message-ID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.runkit import prepare
from tests.smtpkit import SENDER, SmtpServer
from tracker import store as db
from tracker.mail import queue, smtpurl, transport
from tracker.models import OutboxState
from tracker.store import outbox

PEOPLE = tuple(f"r{i:02d}@uni.example" for i in range(20))
REFUSED = PEOPLE[::3]  # 7 of 20: about 30%


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite: test_mail_faults
def test_refusals_and_killed_senders_lose_nothing(db_url: str, tmp_path: Path,
                                                  smtp: SmtpServer) -> None:
    """451 for 30% of the addresses, five senders killed while a message is in flight; then
    the relay recovers: every subscriber has exactly one digest (by Message-ID)."""
    seeds = prepare(db_url, tmp_path, PEOPLE)
    for person in REFUSED:
        smtp.refuse(person, "451 4.3.0 try again later")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(TRACKER_DATABASE_URL=db_url, TRACKER_SMTP_URL=smtp.url,
               PYTHONPATH=str(Path(__file__).parent.parent))
    kills = 0
    for _ in range(5):
        smtp.hold(2, record=True)
        proc = subprocess.Popen([sys.executable, "-m", "tracker", "--seeds", str(seeds),
                                 "digest", "send", "--allow-loopback-links"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if smtp.holding.wait(30):
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(30)
        smtp.release.set()
    smtp.replies.clear()  # the relay recovers
    store = db.open_store(db_url)
    try:
        later = datetime.now(UTC) + timedelta(days=1)  # past every retry wait and stale claim
        sender = transport.SmtpTransport(smtpurl.parse_smtp_url(smtp.url))
        for _ in range(3):
            queue.send_due(store, sender, SENDER, later)
        rows = outbox.list_outbox(store, limit=1000)
    finally:
        store.close()
    states = Counter(r.state for r in rows)
    assert states == {OutboxState.SENT: len(PEOPLE)}, states
    unique = {m.message_id: m for m in smtp.messages()}
    per_person = Counter(r for m in unique.values() for r in m.recipients)
    assert per_person == Counter(PEOPLE), per_person
    twice = sum(1 for n in smtp.per_message_id().values() if n > 1)
    print(f"\nmail faults ({db_url.split(':')[0].split('+')[0]}): {kills} senders killed, 30% "
          f"refused, 0 lost, 0 duplicates ({twice} resent with the same Message-ID)")
    assert kills >= 1
