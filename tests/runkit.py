"""Running the tracker in the mail tests: in-process (`cli`) or as a real process (`spawn`),
with the settings of a test store (`env_for`), and reading what the outbox holds.

Both take `now`: the command then runs on that fixed clock (the app's `obj={"clock": ...}`);
`python -m tests.runkit MOMENT ARGS...` is `tracker ARGS...` with its clock stopped at MOMENT.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from typer.testing import CliRunner, Result

from tests.smtpkit import BASE_URL, SENDER, SmtpServer, brussels, follow, write_seeds
from tracker import store as db
from tracker import usecases
from tracker.cli import app
from tracker.mail import delivery, queue, smtpurl, transport
from tracker.store import outbox as mail

ROOT = str(Path(__file__).resolve().parent.parent)


def send(store: db.Store, smtp: SmtpServer, now: datetime) -> delivery.DrainReport:
    """Drain the outbox over SMTP at `now`."""
    return queue.send_due(store, transport.SmtpTransport(smtpurl.parse_smtp_url(smtp.url)),
                           SENDER, now)


def env_for(store: db.Store, seeds: Path, tmp_path: Path, smtp: SmtpServer | None = None,
            **extra: str) -> dict[str, str]:
    """The TRACKER_* settings of a `tracker` run against this store."""
    env = {"TRACKER_DATABASE_URL": store.url, "TRACKER_SEEDS": str(seeds),
           "TRACKER_BASE_URL": BASE_URL, "TRACKER_MAIL_FROM": SENDER,
           "TRACKER_MAILDIR": str(tmp_path / "maildir"), "TRACKER_TIMEZONE": "Europe/Brussels"}
    if smtp is not None:
        env["TRACKER_SMTP_URL"] = smtp.url
    return {**env, **extra}


def _stopped_at(now: datetime) -> dict[str, Callable[[], datetime]]:
    return {"clock": lambda: now}


def cli(env: dict[str, str], *args: str, now: datetime | None = None) -> Result:
    """`tracker ARGS...` in-process, at `now` (default: the real clock)."""
    return CliRunner().invoke(app, list(args), env=env, obj=_stopped_at(now) if now else None)


def spawn(env: dict[str, str], *args: str, now: datetime | None = None) \
        -> subprocess.Popen[str]:
    """`tracker ARGS...` as a real process, at `now` (default: the real clock)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, (ROOT, clean.get("PYTHONPATH"))))
    command = ["tests.runkit", now.isoformat()] if now else ["tracker"]
    return subprocess.Popen([sys.executable, "-m", *command, *args], env={**clean, **env},
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def states(store: db.Store) -> dict[str, tuple[str, ...]]:
    """Outbox states by recipient, oldest row first."""
    out: dict[str, tuple[str, ...]] = {}
    for row in sorted(mail.list_outbox(store), key=lambda r: r.id):
        out[row.recipient] = (*out.get(row.recipient, ()), row.state)
    return out


def send_after_crash(env: dict[str, str], now: datetime) -> Result:
    """`tracker digest send` at `now` once the killed sender's lock is gone.

    PostgreSQL frees a dead client's session lock when its backend notices the closed socket,
    which can take a moment; on SQLite the kernel drops the file lock at once.
    """
    deadline = time.monotonic() + 15
    while True:
        result = cli(env, "digest", "send", now=now)
        if result.exit_code != 4 or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def prepare(db_url: str, folder: Path, people: Sequence[str]) -> Path:
    """A store synced with the AI Factories rule, `people` getting a daily digest, empty or
    not; returns the seeds folder."""
    seeds = write_seeds(folder / "seeds")
    store = db.open_store(db_url)
    try:
        usecases.sync(store, [seeds], brussels(2024, 10, 1, 9))
        for person in people:
            follow(store, person, empty=True)
    finally:
        store.close()
    return seeds




if __name__ == "__main__":
    app(sys.argv[2:], obj=_stopped_at(datetime.fromisoformat(sys.argv[1])))
