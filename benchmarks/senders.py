"""Two senders against one on PostgreSQL: `tracker digest send` processes draining one outbox
(claims with FOR UPDATE SKIP LOCKED) into a local SMTP sink that notes when each message
arrives and over which connection. Rates come from those arrival times (first to last message
of each connection), so process start-up is left out.

A sink that answers at once makes the sink and the two cores the limit (two senders, the sink
and PostgreSQL share them); one that answers each message after 15 ms, as a relay across a
network does, measures what a second sender adds. Both are printed; the bar is on the second.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from benchmarks.figures import Bench
from benchmarks.harness import Row, Section
from benchmarks.http import free_port
from benchmarks.mailbench import _payload
from tracker.store.schema import outbox, subscribers

RELAY_DELAY = 0.015  # seconds a relay takes to answer a message's DATA
TAG = "bench-senders:"


class Sink:
    """aiosmtpd on loopback: accepts everything after `delay`, noting (arrival, client port)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.arrivals: list[tuple[float, int]] = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, _server: Any, session: Any, _envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.arrivals.append((time.perf_counter(), int(session.peer[1])))
        return "250 OK"

    def take(self) -> list[tuple[float, int]]:
        """What arrived since the last call."""
        with self.lock:
            got, self.arrivals = self.arrivals, []
        return got


def _queue(url: str, count: int, payload: bytes, run: int) -> None:
    """`count` due messages (kind 'alert', so the digest figures' median payload is untouched)."""
    engine = sa.create_engine(url)
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(outbox.delete().where(outbox.c.key.startswith(TAG)))
        ids = list(conn.execute(sa.select(subscribers.c.id).order_by(subscribers.c.id))
                   .scalars())
        conn.execute(outbox.insert(), [
            {"subscriber_id": ids[i % len(ids)], "key": f"{TAG}{run}:{i}", "kind": "alert",
             "state": "pending", "attempts": 0, "next_attempt_at": now - timedelta(minutes=1),
             "last_error": "", "message_id": f"<senders.{run}.{i}@bench.example>",
             "recipient": f"sender{i:06d}@bench.example", "subject": "bench",
             "payload": payload, "due_at": now, "created_at": now} for i in range(count)])
    engine.dispose()


def _round(b: Bench, sink: Sink, senders: int) -> tuple[list[float], float, str]:
    """Start `senders` processes at once; (each connection's msg/s, all together, outputs)."""
    env = dict(b.env, TRACKER_SMTP_URL=f"smtp://127.0.0.1:{sink.port}?timeout=30")
    procs = [subprocess.Popen(b.cli("digest", "send"), env=env, cwd=b.work, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL) for _ in range(senders)]
    said = " + ".join(m.group(1) if (m := re.search(r"sent (\d+)", p.communicate(
        timeout=1800)[0])) else "?" for p in procs)
    arrivals = sink.take()
    if len(arrivals) < 2:
        return [], 0.0, said
    per: dict[int, list[float]] = {}
    for at, port in arrivals:
        per.setdefault(port, []).append(at)
    each = [len(t) / max(t[-1] - t[0], 1e-6) for t in per.values() if len(t) > 1]
    times = sorted(at for at, _ in arrivals)
    return sorted(each, reverse=True), len(times) / (times[-1] - times[0]), said


def sender_figures(b: Bench, s: Section, count: int) -> None:
    """One row per sink: one sender's rate, two senders' rates and their ratio."""
    payload = _payload(b.url)
    for delay in (0.0, RELAY_DELAY):
        sink = Sink(delay)
        sink.controller.start()
        try:
            rates = []
            for run, senders in enumerate((1, 2)):
                _queue(b.url, count, payload, run)
                rates.append(_round(b, sink, senders))
        finally:
            sink.controller.stop()
        (_, r1, said1), (two, r2, said2) = rates
        kind = f"sink answers in {1000 * delay:.0f} ms" if delay else "sink answers at once"
        s.add(Row(f"2 senders vs 1, PostgreSQL ({count} messages of {len(payload)} B, {kind})",
                  f"1: {r1:.0f} msg/s; 2: {' + '.join(f'{r:.0f}' for r in two)} = "
                  f"{r2:.0f} msg/s", f"2 x one sender: {2 * r1:.0f} msg/s",
                  f"{r2 / r1 if r1 else 0:.2f}x", ">= 1.7x" if delay else "(information)",
                  None, ("the bar's measure: a relay's latency per message" if delay else
                         "two senders, the sink and PostgreSQL share 2 cores")
                  + f"; sent {said1} / {said2}; load average "
                  f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"))
    engine = sa.create_engine(b.url)
    with engine.begin() as conn:
        conn.execute(outbox.delete().where(outbox.c.key.startswith(TAG)))
    engine.dispose()
