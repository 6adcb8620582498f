"""Real mail parts for the digest tests: an aiosmtpd server on loopback, seeds, a live web app.

`SmtpServer` collects every message it accepts (envelope and parsed message), can be stopped
and started again on the same port (an outage), refuse one recipient at RCPT with any reply
(550: permanent, 451: temporary), and hold the n-th message before answering DATA (so a
sending process is caught mid-batch).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller

from tests.helpers import ROLLING_CUTOFFS, rule_folder
from tests.pg import free_port
from tracker import store as db
from tracker import usecases
from tracker import userinput as ui
from tracker.mail import delivery, queue, smtpurl, subscriptions, transport
from tracker.models import Subscription
from tracker.store import subscribers

BRUSSELS = ZoneInfo("Europe/Brussels")
BASE_URL = "https://grants.example.org"
SENDER = "Grant tracker <tracker@grants.example.org>"

# The AI Factories call as the brief describes it (the title is set per test).
RULE = """\
id = "ai-factories"
type = "call"
title = "{title}"
identifiers = ["EUROHPC-2024-CEI-AI-01"]
url = "https://eurohpc-ju.europa.eu/ai-factories"
tags = ["ai", "hpc"]
timezone = "Europe/Brussels"
deadline_time = 17:00:00
opens = 2024-09-10
closes = 2025-12-31
submission = "multiple-cutoff"

""" + ROLLING_CUTOFFS


def write_seeds(folder: Path, title: str = "AI Factories", extra: str = "") -> Path:
    """A seeds folder holding the AI Factories rule (plus `extra` TOML appended)."""
    return rule_folder(folder, **{"ai-factories": RULE.format(title=title) + extra})


def brussels(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware moment in Brussels."""
    return datetime(year, month, day, hour, minute, tzinfo=BRUSSELS)


SUBSCRIBED = datetime(2024, 10, 20, 12, 0, tzinfo=BRUSSELS)  # before the periods tested


def parse(raw: bytes) -> EmailMessage:
    """A message as a mail reader parses it."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


@dataclass(frozen=True)
class Received:
    """One message the server accepted: envelope and parsed message."""

    sender: str
    recipients: tuple[str, ...]
    raw: bytes
    message: EmailMessage

    @property
    def message_id(self) -> str:
        """The Message-ID header."""
        return str(self.message["Message-ID"])


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, _server: Any, _session: Any, envelope: Any, address: str,
                          _rcpt_options: list[str]) -> str:
        reply = self.server.replies.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        box = self.server
        with box.lock:
            box.data_count += 1
            held = box.hold_at == box.data_count
        raw = bytes(envelope.content)
        item = Received(envelope.mail_from, tuple(envelope.rcpt_tos), raw, parse(raw))
        if not held or box.record_held:
            box.keep(item)
        if held:
            box.holding.set()
            while not box.release.is_set():  # cancelled when the client or server goes away
                await asyncio.sleep(0.02)
            if not box.record_held:
                box.keep(item)  # released: accepted after all
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 at a fixed port, collecting what it accepts."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[Received] = []
        self.replies: dict[str, str] = {}
        self.hold_at: int | None = None
        self.record_held = True
        self.data_count = 0
        self.holding = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        """TRACKER_SMTP_URL for this server."""
        return f"smtp://127.0.0.1:{self.port}?timeout=10"

    def start(self) -> None:
        """Listen on the port (again, after `stop`)."""
        assert self.controller is None, "already running"
        self.release.clear()
        self.holding.clear()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        """Stop listening and drop every open connection (an outage)."""
        if self.controller is None:
            return
        self.release.set()
        self.controller.stop()
        self.controller = None

    def refuse(self, address: str, reply: str) -> None:
        """Answer RCPT TO:<address> with `reply` (e.g. '550 5.1.1 no such user')."""
        self.replies[address.lower()] = reply

    def hold(self, nth: int, record: bool = True) -> None:
        """Hold the nth DATA (counted from now on) until `release` is set or the client dies.

        record=True: the message counts as received at once (the server got it, the client
        never heard the 250: the window where a crash sends twice); record=False: only if it is
        released, not when the client or the server goes away meanwhile.
        """
        with self.lock:
            self.hold_at = self.data_count + nth
            self.record_held = record
        self.holding.clear()
        self.release.clear()

    def keep(self, item: Received) -> None:
        """Count a message as received."""
        with self.lock:
            self.received.append(item)

    def messages(self) -> list[Received]:
        """A snapshot of what was accepted so far."""
        with self.lock:
            return list(self.received)

    def to(self, address: str) -> list[Received]:
        """Messages delivered to an address."""
        return [m for m in self.messages() if address in m.recipients]

    def per_message_id(self) -> Counter[str]:
        """How often each Message-ID arrived."""
        return Counter(m.message_id for m in self.messages())


@contextmanager
def smtp_server(port: int | None = None, running: bool = True) -> Iterator[SmtpServer]:
    """A test SMTP server, stopped at the end whatever happened."""
    server = SmtpServer(port)
    if running:
        server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def live_app(app: Any) -> Iterator[str]:
    """An ASGI app served by a real uvicorn on a free loopback port; yields its base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start within 10 s"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


# ------------------------------------------------------------------ subscribers and mail

def subscribe(store: db.Store, email: str, now: datetime, *, calls: Sequence[str] = (),
              tags: Sequence[str] = (), kinds: Sequence[str] = (), every: str | None = None,
              at: str | None = None, tz: str | None = None, horizon: str | None = None,
              alerts: str | None = None, empty: bool | None = None) -> tuple[Subscription, bool]:
    """Subscribe the way the command line does: typed strings, parsed by tracker.userinput."""
    wanted = subscriptions.Changes(
        calls=ui.items(calls) if calls else None, tags=ui.items(tags) if tags else None,
        kinds=ui.kinds(kinds) if kinds else None, every=ui.every(every) if every else None,
        at=ui.time_of_day(at) if at else None, timezone=ui.zone(tz).key if tz else None,
        horizon_days=ui.days(horizon, "--horizon") if horizon else None,
        alerts=None if alerts is None else tuple(sorted(
            {ui.days(a, "--alerts") for a in ui.items([alerts])}, reverse=True)),
        send_empty=empty)
    sub, created, _ = subscriptions.subscribe(store, ui.email(email), now, wanted)
    return sub, created


def follow(store: db.Store, email: str, now: datetime = SUBSCRIBED,
           **options: object) -> Subscription:
    """Subscribe an address to the AI Factories call: daily at 08:00 Brussels, alerts 7d,3d."""
    chosen: dict[str, object] = {"calls": ["ai-factories"], "every": "daily", "at": "08:00",
                                 "tz": "Europe/Brussels", "alerts": "7d,3d", **options}
    sub, _ = subscribe(store, email, now, **chosen)  # type: ignore[arg-type]
    return sub


def run(store: db.Store, smtp: SmtpServer, now: datetime,
        base_url: str = BASE_URL) -> delivery.DrainReport:
    """What the scheduler does at `now`: queue what is due, send it over SMTP."""
    queued = queue.queue_due(store, now, base_url, SENDER)
    assert not queued.errors, queued.errors
    sender = transport.SmtpTransport(smtpurl.parse_smtp_url(smtp.url))
    return queue.send_due(store, sender, SENDER, now)


def digests(smtp: SmtpServer, to: str) -> list[EmailMessage]:
    """Digests (not alerts) delivered to an address, in arrival order."""
    return [m.message for m in smtp.to(to)
            if str(m.message["Subject"]).startswith("Grant deadlines")]


def alerts(smtp: SmtpServer, to: str) -> list[EmailMessage]:
    """Alerts delivered to an address, in arrival order."""
    return [m.message for m in smtp.to(to)
            if not str(m.message["Subject"]).startswith("Grant deadlines")]


def text_of(msg: EmailMessage) -> str:
    """The plain-text body."""
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(msg: EmailMessage) -> str:
    """The HTML body."""
    part = msg.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def sent_at(msg: EmailMessage) -> datetime:
    """The Date header as an instant."""
    return parsedate_to_datetime(str(msg["Date"]))


def unsubscribe_urls(msg: EmailMessage) -> tuple[str, str]:
    """(the https/http one-click URL, the mailto URL) of List-Unsubscribe."""
    urls = re.findall(r"<([^>]*)>", str(msg["List-Unsubscribe"]))
    web = [u for u in urls if u.startswith(("https://", "http://"))]
    mailto = [u for u in urls if u.startswith("mailto:")]
    assert len(web) == 1 and len(mailto) == 1, msg["List-Unsubscribe"]
    return web[0], mailto[0]


def active(store: db.Store, email: str) -> bool:
    """Whether the address still gets mail."""
    sub = subscribers.get_subscription(store, email)
    assert sub is not None
    return sub.active


@contextmanager
def synced_sqlite(tmp_path: Path, seeds: Path) -> Iterator[db.Store]:
    """A SQLite store synced with `seeds` on 1 Oct 2024, before anyone subscribed."""
    store = db.open_store(f"sqlite:///{tmp_path / 'tracker.db'}")
    try:
        usecases.sync(store, [seeds], brussels(2024, 10, 1, 9))
        yield store
    finally:
        store.close()
