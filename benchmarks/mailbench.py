"""Digest and SMTP figures: subscribers inserted with SQL, `tracker digest send` as a process."""

from __future__ import annotations

import re
import smtplib
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from benchmarks import gen
from benchmarks.figures import Bench
from benchmarks.harness import PY, ROOT, Row, Section, run, secs
from benchmarks.http import free_port, process
from tracker.mail.compose import MAX_ITEMS
from tracker.store.schema import outbox, revisions, subscribers, told_alerts


def reset_subscribers(url: str, count: int, calls: int) -> None:
    """Delete outbox and subscribers; insert `count` due subscribers (revision mark: now)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(outbox.delete())
        conn.execute(told_alerts.delete())
        conn.execute(sa.text("DELETE FROM unsubscribe_tokens"))
        conn.execute(subscribers.delete())
        mark = conn.execute(sa.select(sa.func.max(revisions.c.id))).scalar()
        rows = gen.subscriber_rows(count, calls, datetime.now(UTC), mark)
        for start in range(0, len(rows), 5000):
            conn.execute(subscribers.insert(), rows[start:start + 5000])
    engine.dispose()


def _queue_run(b: Bench, count: int) -> tuple[float, float, float, str]:
    """(tracker wall, bare loop's own loop seconds, tracker peak MB, output), the bare loop
    over the same subscribers and listing at most as many dates as a digest does."""
    reset_subscribers(b.url, count, b.calls)
    env = dict(b.env, TRACKER_SMTP_URL=f"smtp://127.0.0.1:{free_port()}")  # nobody listens
    got = run(b.cli("digest", "send"), env, b.work)
    bare = run([PY, "-m", "benchmarks.bare_digest", b.url, str(ROOT / "templates"),
                str(MAX_ITEMS)], b.env, b.work)
    loop = re.search(rb"loop ([\d.]+) s", bare.out)
    return got.wall, float(loop.group(1)) if loop else float("nan"), got.peak_mb, \
        got.out.decode(errors="replace").strip()


def digest_figures(b: Bench, s: Section, small: int, large: int, target: int) -> None:
    """Render + queue measured at two subscriber counts (the bare loop's ceiling measured at
    each in the same run); when the larger is below `target`, extrapolated linearly to it."""
    t1, loop1, _, _ = _queue_run(b, small)
    t2, loop, peak, said = _queue_run(b, large)
    queued = re.search(r"Queued (\d+) digest\(s\) and (\d+) alert", said)
    s.add(Row(f"digests, render + queue ({large} subscribers, measured)", secs(t2),
              f"bare Jinja2 loop {secs(loop)} (loop only, <= {MAX_ITEMS} dates each)",
              f"{100 * loop / t2:.0f}% of bare loop speed",
              "<= 120 s, >= 50% of bare loop" if large >= target else "(measured scale)", peak,
              (f"queued {queued.group(1)} digests, {queued.group(2)} alert messages; " if queued
               else "") + f"{small} subscribers: {secs(t1)} (bare loop {secs(loop1)}); the "
              "command includes start-up, loading 100k+ occurrences and a failed send"))
    if large >= target:
        return
    per = (t2 - t1) / (large - small)
    if per <= 0:  # too few subscribers to tell the per-subscriber cost from the noise
        per = t2 / large
    fixed = max(0.0, t1 - small * per)
    est = fixed + target * per
    per_bare = loop / large
    est_bare = per_bare * target
    s.add(Row(f"digests, render + queue ({target} subscribers, EXTRAPOLATED)",
              f"~{est:.0f} s ({1000 * per:.2f} ms/subscriber)",
              f"~{est_bare:.0f} s ({1000 * per_bare:.2f} ms/subscriber, loop only)",
              f"{100 * est_bare / est:.1f}% of bare loop speed",
              "<= 120 s, >= 50% of bare loop", None,
              f"linear in subscribers from {small} and {large}; fixed part {fixed:.1f} s"))


def queue_messages(url: str, count: int, payload: bytes) -> None:
    """`count` pending messages to existing subscribers; nobody is due for a digest."""
    engine = sa.create_engine(url)
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(outbox.delete())
        conn.execute(subscribers.update().values(created_at=now + timedelta(days=400),
                                                 alerts=""))
        ids = [r[0] for r in conn.execute(sa.select(subscribers.c.id, subscribers.c.email)
                                          .order_by(subscribers.c.id))]
        rows = [{"subscriber_id": ids[i % len(ids)], "key": f"bench:{i}", "kind": "digest",
                 "state": "pending", "attempts": 0, "next_attempt_at": now - timedelta(minutes=1),
                 "last_error": "", "message_id": f"<bench.{i}@bench.example>",
                 "recipient": f"reader{i:06d}@bench.example", "subject": "Grant deadlines",
                 "payload": payload, "due_at": now, "created_at": now} for i in range(count)]
        if rows:
            conn.execute(outbox.insert(), rows)
    engine.dispose()


def _payload(url: str) -> bytes:
    """A typical queued message: the digest of median size (a 'follow everything' digest
    with thousands of lines would measure the wire, not the sender)."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        sizes = sa.func.length(outbox.c.payload)
        count = conn.execute(sa.select(sa.func.count()).select_from(outbox)
                             .where(outbox.c.kind == "digest")).scalar() or 0
        found = conn.execute(sa.select(outbox.c.payload).where(outbox.c.kind == "digest")
                             .order_by(sizes, outbox.c.id).offset(count // 2).limit(1)).first()
    engine.dispose()
    return bytes(found[0]) if found and found[0] else \
        b"Subject: bench\r\n\r\n" + (b"x" * 78 + b"\r\n") * 100


def pending(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(outbox)
                         .where(outbox.c.state == "pending")).scalar()
    engine.dispose()
    return int(n or 0)


def smtp_figures(b: Bench, s: Section, count: int) -> None:
    """`tracker digest send` draining `count` queued messages into a local aiosmtpd sink."""
    payload = _payload(b.url)
    port = free_port()
    sink = [PY, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c",
            "aiosmtpd.handlers.Sink"]
    env = dict(b.env, TRACKER_SMTP_URL=f"smtp://127.0.0.1:{port}")
    with process(sink, b.env, b.work, "", 0):
        for _ in range(50):
            try:
                smtplib.SMTP("127.0.0.1", port, timeout=5).quit()
                break
            except OSError:
                time.sleep(0.1)
        queue_messages(b.url, 0, payload)
        idle = run(b.cli("digest", "send"), env, b.work)
        queue_messages(b.url, count, payload)
        got = run(b.cli("digest", "send"), env, b.work)
        left = pending(b.url)
        sent = re.search(r"sent (\d+)", got.out.decode(errors="replace"))
        n = int(sent.group(1)) if sent else 0
        start = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            for i in range(min(n, 500) or 500):
                smtp.sendmail("tracker@localhost", [f"reader{i:06d}@bench.example"], payload)
        bare = (min(n, 500) or 500) / (time.perf_counter() - start)
    rate = n / max(got.wall - idle.wall, 1e-6)
    s.add(Row(f"digest send to local SMTP ({count} queued, {len(payload)} B each)",
              f"{n / got.wall:.0f} msg/s whole command; {rate:.0f} msg/s after start-up",
              f"smtplib loop to the same sink: {bare:.0f} msg/s",
              f"{100 * rate / bare:.0f}% of smtplib loop", ">= 300 msg/s, no cap stranding mail",
              got.peak_mb, f"sent {n} in {secs(got.wall)} (idle run {secs(idle.wall)}); "
              f"{left} left pending after one run"))
