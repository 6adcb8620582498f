"""Hardening, defect 7: files at rest are private under umask 022, a sent message keeps no
working unsubscribe link in the outbox, a used token dies, and subscribing again kills the
tokens of mail sent before."""

from __future__ import annotations

import os
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.smtpkit import (
    BASE_URL,
    SENDER,
    SmtpServer,
    active,
    brussels,
    follow,
    live_app,
    unsubscribe_urls,
    write_seeds,
)
from tracker import store as db
from tracker import usecases
from tracker.mail import queue, smtpurl, transport
from tracker.store import outbox, subscribers
from tracker.web.app import make_app

T = brussels(2024, 10, 28, 8)  # a digest and a 7-day alert are due
ANA = "ana@uni.example"


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    """The common default umask, under which files would be world-readable."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    """Permission bits of a file or folder."""
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_store_and_its_side_files_are_private(tmp_path: Path) -> None:
    """The database (and its folder, WAL and lock files) readable by the owner only."""
    folder = tmp_path / "data" / "tracker"
    store = db.open_store(f"sqlite:///{folder / 'tracker.db'}")
    try:
        usecases.sync(store, [write_seeds(tmp_path / "seeds")], T)
        with store.exclusive("test"):
            files = sorted(folder.iterdir())
            assert folder / "tracker.db" in files and folder / "tracker.db.lock" in files
            for path in files:
                assert mode(path) == 0o600, (path.name, oct(mode(path)))
    finally:
        store.close()
    assert mode(folder) == 0o700


def test_the_maildir_and_its_messages_are_private(tmp_path: Path) -> None:
    """Mail filed without SMTP: folders 0700, each message 0600."""
    box = tmp_path / "mail"
    sender = transport.MaildirTransport(box)
    sender.send(SENDER, ANA, b"Subject: hi\r\n\r\nprivate link\r\n")
    sender.close()
    assert [mode(p) for p in (box, box / "tmp", box / "new", box / "cur")] == [0o700] * 4
    messages = list((box / "new").iterdir())
    assert len(messages) == 1 and mode(messages[0]) == 0o600


@pytest.fixture
def mailed(db_url: str, tmp_path: Path, smtp: SmtpServer) -> Iterator[db.Store]:
    """Ana follows the AI Factories call and got her digest and alert over SMTP."""
    store = db.open_store(db_url)
    usecases.sync(store, [write_seeds(tmp_path / "seeds")], brussels(2024, 10, 1, 9))
    follow(store, ANA)
    queue.queue_due(store, T, BASE_URL, SENDER)
    sent = queue.send_due(store, transport.SmtpTransport(smtpurl.parse_smtp_url(smtp.url)),
                          SENDER, T)
    assert sent.sent == 2, sent
    yield store
    store.close()


def links(smtp: SmtpServer) -> list[str]:
    """The one-click unsubscribe paths of every message Ana received, oldest first."""
    return ["/u/" + unsubscribe_urls(m.message)[0].rsplit("/", 1)[1] for m in smtp.to(ANA)]


def click(base: str, path: str) -> int:
    """The one-click POST of a mail client; its HTTP status."""
    request = urllib.request.Request(base + path, data=b"List-Unsubscribe=One-Click",
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_sent_mail_is_not_kept_with_its_link(mailed: db.Store) -> None:
    """Once sent, the outbox row keeps its subject and Message-ID but not the body."""
    rows = outbox.list_outbox(mailed)
    assert len(rows) == 2 and all(r.state.value == "sent" for r in rows)
    assert all(r.payload == b"" and r.message_id and r.subject for r in rows)


def test_a_used_token_and_every_other_token_of_the_address_die(mailed: db.Store,
                                                               smtp: SmtpServer) -> None:
    """The digest's link unsubscribes; it and the alert's link are dead afterwards."""
    digest_link, alert_link = links(smtp)
    with live_app(make_app(mailed, BASE_URL, now=lambda: T)) as base:
        assert click(base, digest_link) == 200
        assert not active(mailed, ANA)
        assert click(base, digest_link) == 404
        assert click(base, alert_link) == 404


def test_subscribing_again_kills_the_links_of_mail_sent_before(
        mailed: db.Store, smtp: SmtpServer) -> None:
    """Unsubscribed by command, subscribed again: the old links no longer unsubscribe, the
    link in new mail does."""
    old = links(smtp)
    assert subscribers.deactivate(mailed, ANA, T)
    follow(mailed, ANA, now=T)
    later = brussels(2024, 11, 1, 8)  # the 3-day alert before the 4 Nov cut-off
    queue.queue_due(mailed, later, BASE_URL, SENDER)
    queue.send_due(mailed, transport.SmtpTransport(smtpurl.parse_smtp_url(smtp.url)), SENDER,
                   later)
    new = [link for link in links(smtp) if link not in old]
    assert new, "no new mail after subscribing again"
    with live_app(make_app(mailed, BASE_URL, now=lambda: later)) as base:
        for link in old:
            assert click(base, link) == 404
        assert active(mailed, ANA)
        assert click(base, new[0]) == 200
    assert not active(mailed, ANA)
