"""Digests and alerts as a subscriber receives them: real SMTP (aiosmtpd), real parsing.

Every moment is passed in as `now`; the store is SQLite here (the outbox on PostgreSQL too is
covered in test_mail_faults.py).
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import sqlalchemy as sa
from icalendar import Calendar
from typer.testing import CliRunner

from tests.helpers import amendment
from tests.smtpkit import (
    BASE_URL,
    SmtpServer,
    active,
    alerts,
    brussels,
    digests,
    follow,
    html_of,
    live_app,
    run,
    sent_at,
    synced_sqlite,
    text_of,
    unsubscribe_urls,
    write_seeds,
)
from tracker import store as db
from tracker import usecases
from tracker.cli import app
from tracker.store import outbox as mail
from tracker.store import schema
from tracker.web.app import make_app

SYNCED = brussels(2024, 10, 1, 9)  # the rules were loaded before anyone subscribed
WEEK_BEFORE = brussels(2024, 10, 28, 8)  # 7 days before the 4 Nov 2024 cut-off
CUTOFF_UTC = datetime(2024, 11, 4, 16, 0, tzinfo=UTC)  # 17:00 CET
TITLE = "AI Fábricas <b>& friends"

MOVE = amendment("move", cutoff=date(2024, 11, 4), to=date(2024, 11, 8),
                 announced=date(2024, 10, 28), note="extended by four days")
CANCEL = amendment("cancel", cutoff=date(2024, 11, 4), announced=date(2024, 10, 29),
                   note="funds exhausted")


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    """The AI Factories rule, with HTML-looking characters in its title."""
    return write_seeds(tmp_path / "seeds", TITLE)


@pytest.fixture
def store(tmp_path: Path, seeds: Path) -> Iterator[db.Store]:
    """A SQLite store synced with the seeds."""
    with synced_sqlite(tmp_path, seeds) as s:
        yield s


# ------------------------------------------------------------------ the digest, part by part

def test_week_before_cutoff_digest_says_7_days_left_in_the_calls_zone(
        store: db.Store, smtp: SmtpServer) -> None:
    follow(store, "ana@uni.example")
    report = run(store, smtp, WEEK_BEFORE)
    assert report.failed == 0 and report.retried == 0
    [msg] = digests(smtp, "ana@uni.example")
    text, html = text_of(msg), html_of(msg)
    assert "7 days left" in text and "7 days left" in html
    assert "2024-11-04 17:00 CET" in text and "2024-11-04 17:00 CET" in html
    # the received envelope goes to the subscriber only
    [received] = [m for m in smtp.messages() if m.message is msg]
    assert received.recipients == ("ana@uni.example",)
    assert received.sender == "tracker@grants.example.org"


def test_digest_is_mixed_with_alternative_bodies_and_a_calendar(
        store: db.Store, smtp: SmtpServer) -> None:
    follow(store, "ana@uni.example")
    run(store, smtp, WEEK_BEFORE)
    [msg] = digests(smtp, "ana@uni.example")
    assert msg.get_content_type() == "multipart/mixed"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["multipart/alternative", "text/calendar"]
    assert [p.get_content_type() for p in parts[0].iter_parts()] == ["text/plain", "text/html"]
    ics = parts[1]
    assert ics.get_content_disposition() == "attachment"
    assert str(ics.get_filename()).endswith(".ics")
    assert ics.get_param("method") == "PUBLISH"
    cal = Calendar.from_ical(ics.get_content())
    events = list(cal.walk("VEVENT"))
    assert [e.decoded("DTSTART").astimezone(UTC) for e in events] == [CUTOFF_UTC]
    # the title survives the trip through the attachment's declared charset
    summary = str(events[0].get("SUMMARY"))
    assert TITLE in summary and "\ufffd" not in summary


def test_digest_headers_identify_sender_recipient_and_one_click_unsubscribe(
        store: db.Store, smtp: SmtpServer) -> None:
    follow(store, "ana@uni.example")
    run(store, smtp, WEEK_BEFORE)
    [msg] = digests(smtp, "ana@uni.example")
    assert sent_at(msg) == WEEK_BEFORE
    assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", str(msg["Message-ID"]))
    assert parseaddr(str(msg["From"]))[1] == "tracker@grants.example.org"
    assert parseaddr(str(msg["To"]))[1] == "ana@uni.example"
    web, mailto = unsubscribe_urls(msg)
    parts = urlsplit(web)
    assert f"{parts.scheme}://{parts.netloc}" == BASE_URL
    token = parts.path.removeprefix("/u/")
    assert parts.path == f"/u/{token}" and len(token) >= 16
    # mailto: the bare sender address, the token in the subject
    address, _, query = mailto.removeprefix("mailto:").partition("?")
    assert address == "tracker@grants.example.org"
    assert token in unquote(query)
    assert str(msg["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    # the same link is in both bodies
    assert web in text_of(msg) and web in html_of(msg)


def test_html_has_inlined_styles_and_escapes_the_title_text_keeps_it_raw(
        store: db.Store, smtp: SmtpServer) -> None:
    follow(store, "ana@uni.example")
    run(store, smtp, WEEK_BEFORE)
    [msg] = digests(smtp, "ana@uni.example")
    html, text = html_of(msg), text_of(msg)
    assert re.search(r'<td[^>]*\bstyle="[^"]+"', html), "table cells carry their own style"
    assert re.search(r'<h1[^>]*\bstyle="[^"]+"', html)
    assert "AI Fábricas &lt;b&gt;&amp; friends" in html
    assert "<b>&" not in html
    assert TITLE in text
    assert "&lt;" not in text and "&amp;" not in text


# ------------------------------------------------------------------ unsubscribe, for real

def _request(url: str, method: str, body: bytes | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_one_click_unsubscribe_link_stops_exactly_that_subscriber(
        store: db.Store, smtp: SmtpServer) -> None:
    follow(store, "ana@uni.example")
    follow(store, "ben@uni.example")
    clicked = brussels(2024, 10, 28, 9)
    with live_app(make_app(store, BASE_URL,
                           now=lambda: clicked)) as base:
        run(store, smtp, WEEK_BEFORE, base_url=base)
        [msg] = digests(smtp, "ana@uni.example")
        web, _ = unsubscribe_urls(msg)
        assert web.startswith(f"{base}/u/")

        # a link scanner's GET shows a confirmation page and changes nothing
        status, page = _request(web, "GET")
        assert status == 200
        assert "<form" in page and 'method="post"' in page.lower()
        assert active(store, "ana@uni.example") and active(store, "ben@uni.example")

        # a made-up token: 404, nobody unsubscribed
        status, _ = _request(f"{base}/u/{'x' * 32}", "POST", b"List-Unsubscribe=One-Click")
        assert status == 404
        assert active(store, "ana@uni.example") and active(store, "ben@uni.example")

        # RFC 8058: the mail client POSTs List-Unsubscribe=One-Click to the URL
        status, page = _request(web, "POST", b"List-Unsubscribe=One-Click")
        assert status == 200
        assert "ana@uni.example" in page
        assert not active(store, "ana@uni.example")
        assert active(store, "ben@uni.example")

    # the next day only ben gets a digest
    run(store, smtp, brussels(2024, 10, 29, 8))
    assert len(digests(smtp, "ana@uni.example")) == 1
    assert len(digests(smtp, "ben@uni.example")) == 2


# ------------------------------------------------------------------ what a digest says

def test_moved_cutoff_shows_under_changed_with_old_and_new_date_once(
        store: db.Store, smtp: SmtpServer, seeds: Path) -> None:
    follow(store, "ana@uni.example")
    run(store, smtp, WEEK_BEFORE)
    [first] = digests(smtp, "ana@uni.example")
    assert "Changed since your last digest" not in text_of(first)

    write_seeds(seeds, TITLE, MOVE)
    assert usecases.sync(store, [seeds], brussels(2024, 10, 28, 12)).changed >= 1
    run(store, smtp, brussels(2024, 10, 29, 8))
    second = digests(smtp, "ana@uni.example")[1]
    for body in (text_of(second), html_of(second)):
        changed = body.split("Changed since your last digest", 1)
        assert len(changed) == 2, body
        assert "2024-11-04 17:00 CET" in changed[1] and "2024-11-08 17:00 CET" in changed[1]
    # the list itself now shows the new date: 10 days from 29 October
    coming = text_of(second).split("Changed since your last digest")[0]
    assert "2024-11-08 17:00 CET" in coming and "10 days left" in coming
    assert "1 change" in str(second["Subject"])

    run(store, smtp, brussels(2024, 10, 30, 8))
    third = digests(smtp, "ana@uni.example")[2]
    assert "Changed since your last digest" not in text_of(third)


def test_nothing_to_say_sends_nothing_unless_empty_digests_wanted(
        store: db.Store, smtp: SmtpServer) -> None:
    follow(store, "quiet@uni.example")
    follow(store, "always@uni.example", empty=True)
    # 10 Nov 2024: the next cut-off (4 Feb 2025) is beyond the 60-day horizon, nothing changed
    quiet_day = brussels(2024, 11, 10, 8)
    report = run(store, smtp, quiet_day)
    assert digests(smtp, "quiet@uni.example") == []
    [msg] = digests(smtp, "always@uni.example")
    assert "Nothing due in the next 60 days" in text_of(msg)
    assert msg.get_content_type() == "multipart/alternative"  # nothing listed: no .ics
    assert report.sent == 1
    # and running again the same day changes nothing
    run(store, smtp, quiet_day + timedelta(hours=6))
    assert len(smtp.messages()) == 1


def test_weekly_subscriber_gets_exactly_one_digest_per_week_on_monday_at_their_hour(
        store: db.Store, smtp: SmtpServer) -> None:
    follow(store, "weekly@uni.example", now=brussels(2024, 10, 1, 12), every="weekly",
           alerts="")
    day = brussels(2024, 10, 1)
    for i in range(41):  # 1 Oct .. 10 Nov 2024, across the end of summer time (27 Oct)
        for hour, minute in ((7, 59), (8, 0), (20, 0)):
            run(store, smtp, (day + timedelta(days=i)).replace(hour=hour, minute=minute))
    got = digests(smtp, "weekly@uni.example")
    mondays = [brussels(2024, 10, 7, 8), brussels(2024, 10, 14, 8), brussels(2024, 10, 21, 8),
               brussels(2024, 10, 28, 8), brussels(2024, 11, 4, 8)]
    assert [sent_at(m) for m in got] == mondays
    assert len({str(m["Message-ID"]) for m in got}) == 5
    assert alerts(smtp, "weekly@uni.example") == []


def test_digest_is_rendered_in_the_subscribers_zone(store: db.Store, smtp: SmtpServer) -> None:
    # subscribed on Sunday 27 October after 08:00 in New York: Monday's is the first digest
    follow(store, "nyc@uni.example", now=brussels(2024, 10, 27, 14), tz="America/New_York",
           alerts="")
    new_york_morning = datetime(2024, 10, 28, 12, 0, tzinfo=UTC)  # 08:00 EDT
    run(store, smtp, new_york_morning - timedelta(minutes=1))
    assert digests(smtp, "nyc@uni.example") == []  # 07:59 in New York: not yet
    run(store, smtp, new_york_morning)
    [msg] = digests(smtp, "nyc@uni.example")
    text, html = text_of(msg), html_of(msg)
    for body in (text, html):
        assert "2024-11-04 17:00 CET" in body  # the call's own zone
        assert "2024-11-04 11:00 EST" in body  # the reader's (US summer time ended 3 Nov)
        assert "7 days left" in body
    assert sent_at(msg) == new_york_morning


# ------------------------------------------------------------------ alerts

def test_alerts_come_7_and_3_days_before_at_the_subscribers_hour(
        store: db.Store, smtp: SmtpServer) -> None:
    follow(store, "ana@uni.example", every="monthly")
    follow(store, "nyc@uni.example", every="monthly", tz="America/New_York")
    moments = [brussels(2024, 10, 28, 7, 59), brussels(2024, 10, 28, 8, 0),
               brussels(2024, 10, 28, 12, 59), brussels(2024, 10, 28, 13, 0),  # 08:00 EDT
               brussels(2024, 10, 31, 8), brussels(2024, 11, 1, 7, 59),
               brussels(2024, 11, 1, 8), brussels(2024, 11, 1, 12, 59),
               brussels(2024, 11, 1, 13, 0),  # 08:00 EDT
               brussels(2024, 11, 3, 8), brussels(2024, 11, 4, 8), brussels(2024, 11, 4, 18)]
    for now in moments:
        run(store, smtp, now)
    ana = alerts(smtp, "ana@uni.example")
    assert [(sent_at(m), str(m["Subject"]).split(":")[0]) for m in ana] == [
        (brussels(2024, 10, 28, 8), "7 days left"), (brussels(2024, 11, 1, 8), "3 days left")]
    nyc = alerts(smtp, "nyc@uni.example")
    assert [sent_at(m) for m in nyc] == [brussels(2024, 10, 28, 13), brussels(2024, 11, 1, 13)]
    for m in ana + nyc:
        assert TITLE in str(m["Subject"]) and "2024-11-04 17:00 CET" in str(m["Subject"])
        cal = Calendar.from_ical(next(m.iter_attachments()).get_content())
        assert [e.decoded("DTSTART").astimezone(UTC) for e in cal.walk("VEVENT")] == \
            [CUTOFF_UTC]
    assert "2024-11-04 11:00 EST" in text_of(nyc[0])


def test_after_downtime_only_the_nearest_alert_is_sent(
        store: db.Store, smtp: SmtpServer) -> None:
    follow(store, "ana@uni.example", every="monthly")
    # nothing ran between 20 October and 1 November 10:00: both the 7d and 3d times passed
    run(store, smtp, brussels(2024, 11, 1, 10))
    run(store, smtp, brussels(2024, 11, 2, 8))
    run(store, smtp, brussels(2024, 11, 3, 8))
    [alert] = alerts(smtp, "ana@uni.example")
    assert str(alert["Subject"]).startswith("3 days left")
    assert "7 days" not in text_of(alert)


def test_no_alert_for_a_cancelled_cutoff(store: db.Store, smtp: SmtpServer,
                                         seeds: Path) -> None:
    follow(store, "ana@uni.example")
    run(store, smtp, WEEK_BEFORE)
    assert len(alerts(smtp, "ana@uni.example")) == 1  # 7 days before: still on
    write_seeds(seeds, TITLE, CANCEL)
    usecases.sync(store, [seeds], brussels(2024, 10, 29, 12))
    for now in (brussels(2024, 10, 30, 8), brussels(2024, 11, 1, 8),
                brussels(2024, 11, 3, 8)):
        run(store, smtp, now)
    assert len(alerts(smtp, "ana@uni.example")) == 1  # no 3-day alert
    # the digest after the cancellation says so
    after = digests(smtp, "ana@uni.example")[1]
    assert sent_at(after) == brussels(2024, 10, 30, 8)
    changed = text_of(after).split("Changed since your last digest", 1)[1]
    assert "cancelled" in changed


# ------------------------------------------------------------------ preview

def test_cli_preview_prints_the_digest_and_sends_nothing(
        store: db.Store, smtp: SmtpServer, seeds: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    follow(store, "ana@uni.example")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("TRACKER_CONFIG", raising=False)
    env = {"TRACKER_DATABASE_URL": store.url, "TRACKER_SEEDS": str(seeds),
           "TRACKER_SMTP_URL": smtp.url, "TRACKER_MAILDIR": str(tmp_path / "mail"),
           "TRACKER_BASE_URL": BASE_URL}
    result = CliRunner().invoke(app, ["digest", "preview", "ana@uni.example",
                                      "--as-of", "2024-10-28"], env=env)
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith("Subject: Grant deadlines") and "1 coming up" in first
    assert "7 days left" in result.stdout
    assert "2024-11-04 17:00 CET" in result.stdout
    assert mail.list_outbox(store) == []
    assert smtp.messages() == []
    assert not (tmp_path / "mail").exists()
    with store.read() as conn:  # and the subscriber's next digest is still due
        assert conn.execute(sa.select(schema.subscribers.c.last_period)).scalar() == ""


def test_a_moved_cutoff_gets_its_alerts_again(store: db.Store, smtp: SmtpServer,
                                              seeds: Path) -> None:
    follow(store, "ana@uni.example", every="monthly", alerts="3d")
    run(store, smtp, brussels(2024, 11, 1, 8))
    assert len(alerts(smtp, "ana@uni.example")) == 1  # 3 days before 4 November
    write_seeds(seeds, TITLE, MOVE)  # announced 28 October: the cut-off is now 8 November
    usecases.sync(store, [seeds], brussels(2024, 11, 1, 9))
    for now in (brussels(2024, 11, 4, 8), brussels(2024, 11, 5, 8), brussels(2024, 11, 6, 8)):
        run(store, smtp, now)
    second = alerts(smtp, "ana@uni.example")[1:]
    assert [sent_at(m) for m in second] == [brussels(2024, 11, 5, 8)]
    assert "2024-11-08 17:00 CET" in str(second[0]["Subject"])


def test_a_title_on_two_lines_still_makes_one_subject_line(tmp_path: Path,
                                                           smtp: SmtpServer) -> None:
    folder = write_seeds(tmp_path / "nl", 'Demo call for\\nvery long titles')
    s = db.open_store(f"sqlite:///{tmp_path / 'nl.db'}")
    usecases.sync(s, [folder], SYNCED)
    follow(s, "ana@uni.example")
    run(s, smtp, WEEK_BEFORE)
    subjects = [str(m.message["Subject"]) for m in smtp.to("ana@uni.example")]
    assert any("Demo call for very long titles" in x for x in subjects)  # the alert
    s.close()
