"""Unsubscribing, as a reader does it: the links in any mail received (served by a real uvicorn),
or `tracker unsubscribe`; afterwards no digest and no alert arrives, not even one queued before.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.smtpkit import (
    BASE_URL,
    SENDER,
    SmtpServer,
    active,
    alerts,
    brussels,
    digests,
    follow,
    live_app,
    run,
    smtp_server,
    synced_sqlite,
    unsubscribe_urls,
    write_seeds,
)
from tracker import store as db
from tracker.cli import app
from tracker.mail import queue, smtpurl, subscriptions, transport
from tracker.store import outbox as mail
from tracker.web.app import make_app

SYNCED = brussels(2024, 10, 1, 9)
WEEK_BEFORE = brussels(2024, 10, 28, 8)


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    """The AI Factories rule."""
    return write_seeds(tmp_path / "seeds")


@pytest.fixture
def store(tmp_path: Path, seeds: Path) -> Iterator[db.Store]:
    """A SQLite store synced with the seeds."""
    with synced_sqlite(tmp_path, seeds) as s:
        yield s


def post(url: str) -> tuple[int, str]:
    """What a mail client does for RFC 8058 one-click unsubscribe."""
    req = urllib.request.Request(url, data=b"List-Unsubscribe=One-Click", method="POST")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def get(url: str) -> int:
    """The status of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return err.code


def test_link_in_an_older_mail_works_and_then_every_link_dies(
        store: db.Store, smtp: SmtpServer) -> None:
    follow(store, "ana@uni.example")
    follow(store, "ben@uni.example")
    app_ = make_app(store, BASE_URL, now=lambda: WEEK_BEFORE)
    with live_app(app_) as base:
        run(store, smtp, WEEK_BEFORE, base_url=base)  # a digest and the 7-day alert
        run(store, smtp, brussels(2024, 10, 29, 8), base_url=base)
        older_alert = alerts(smtp, "ana@uni.example")[0]
        newest_digest = digests(smtp, "ana@uni.example")[-1]
        links = {unsubscribe_urls(m.message)[0] for m in smtp.to("ana@uni.example")}
        assert len(links) == 3  # each mail has its own link

        status, page = post(unsubscribe_urls(older_alert)[0])
        assert status == 200 and "ana@uni.example" in page
        status, page = post(unsubscribe_urls(newest_digest)[0])  # a second click: harmless,
        assert status == 404 and "not valid" in page  # every link of the address died
        assert not active(store, "ana@uni.example") and active(store, "ben@uni.example")
        # a link that is not even shaped like one
        assert get(f"{base}/u/nope") == 404

    # no more digests and no 3-day alert for ana; ben gets both
    for day in (30, 31):
        run(store, smtp, brussels(2024, 10, day, 8))
    run(store, smtp, brussels(2024, 11, 1, 8))
    assert len(digests(smtp, "ana@uni.example")) == 2
    assert len(alerts(smtp, "ana@uni.example")) == 1
    assert len(digests(smtp, "ben@uni.example")) == 5
    assert [str(m["Subject"]).split(":")[0] for m in alerts(smtp, "ben@uni.example")] == \
        ["7 days left", "3 days left"]


def test_mail_queued_before_the_click_is_not_sent_after_it(store: db.Store) -> None:
    follow(store, "ana@uni.example")
    follow(store, "ben@uni.example")
    with smtp_server(running=False) as smtp:
        queued = queue.queue_due(store, WEEK_BEFORE, BASE_URL, SENDER)
        assert queued.digests == 2
        sender = transport.SmtpTransport(smtpurl.parse_smtp_url(smtp.url))
        assert queue.send_due(store, sender, SENDER, WEEK_BEFORE).retried == 4  # down
        # ana unsubscribes (with the link of yesterday's mail, or the command) meanwhile
        subscriptions.unsubscribe(store, "ana@uni.example", brussels(2024, 10, 28, 8, 30))
        smtp.start()
        later = max(r.next_attempt_at for r in mail.list_outbox(store))
        queue.send_due(store, sender, SENDER, later)
        assert smtp.to("ana@uni.example") == []  # "will get no more digests or alerts"
        assert len(smtp.to("ben@uni.example")) == 2
        assert not any(r.state == "pending" for r in mail.list_outbox(store))


def test_cli_unsubscribe_stops_mail_and_an_unknown_address_is_one_line_error(
        store: db.Store, smtp: SmtpServer, seeds: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in list(os.environ):
        if name.startswith("TRACKER_"):
            monkeypatch.delenv(name)
    env = {"TRACKER_DATABASE_URL": store.url, "TRACKER_SEEDS": str(seeds)}
    follow(store, "ana@uni.example")
    follow(store, "ben@uni.example")
    result = CliRunner().invoke(app, ["unsubscribe", "ana@uni.example"], env=env)
    assert result.exit_code == 0, result.output
    listed = CliRunner().invoke(app, ["subscribers"], env=env).stdout
    assert "ana@uni.example" not in listed and "ben@uni.example" in listed
    everyone = CliRunner().invoke(app, ["subscribers", "--all"], env=env).stdout
    assert "ana@uni.example [unsubscribed]" in everyone

    run(store, smtp, WEEK_BEFORE)
    assert smtp.to("ana@uni.example") == []
    assert len(smtp.to("ben@uni.example")) == 2

    unknown = CliRunner().invoke(app, ["unsubscribe", "nobody@uni.example"], env=env)
    assert unknown.exit_code == 3
    [line] = unknown.stderr.strip().splitlines()
    assert "nobody@uni.example" in line and "not subscribed" in line
