"""Digests a person can read when there is a lot to tell: a capped list that says how many more
and where they are, one attachment for everyone with the same filter, several alerts in one
message, and batches that a second run never doubles. Real SMTP (aiosmtpd), real SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from tests.smtpkit import (
    BASE_URL,
    SmtpServer,
    alerts,
    brussels,
    digests,
    html_of,
    run,
    subscribe,
    synced_sqlite,
    text_of,
    unsubscribe_urls,
)
from tracker import store as db
from tracker.mail import queue
from tracker.mail.compose import MAX_ITEMS
from tracker.store import schema, subscribers

CALLS = 70  # one cut-off each, 1-28 November 2024: more than a digest lists
MONDAY = brussels(2024, 10, 28, 8)
PEOPLE = ("ana@uni.example", "ben@uni.example", "cho@uni.example")
RULE = """\
id = "call-{n:02d}"
type = "call"
title = "Call {n:02d}"
url = "https://calls.example.org/{n}"
tags = ["ai"]
timezone = "Europe/Brussels"
deadline_time = 17:00:00
opens = 2024-09-02
closes = 2024-11-{day:02d}
submission = "multiple-cutoff"

[cutoffs]
dates = [2024-11-{day:02d}]
"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[db.Store]:
    """Seventy calls tagged 'ai', synced before anyone subscribed."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for n in range(1, CALLS + 1):
        (seeds / f"call-{n:02d}.toml").write_text(RULE.format(n=n, day=n % 28 + 1),
                                                  encoding="utf-8")
    with synced_sqlite(tmp_path, seeds) as s:
        yield s


def follow_ai(store: db.Store, who: str, alerts_: str = "") -> None:
    subscribe(store, who, brussels(2024, 10, 20, 12), tags=["ai"], every="daily", at="08:00",
              tz="Europe/Brussels", alerts=alerts_)


def events_of(ics: bytes) -> list[str]:
    return [str(e["SUMMARY"]) for e in Calendar.from_ical(ics).walk("VEVENT")]


def attachment(msg: object) -> bytes:
    [part] = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]  # type: ignore[attr-defined]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload


def test_a_long_digest_lists_the_nearest_dates_says_how_many_more_and_links_them(
        store: db.Store, smtp: SmtpServer) -> None:
    follow_ai(store, "ana@uni.example")
    run(store, smtp, MONDAY)
    [d] = digests(smtp, "ana@uni.example")
    text, html = text_of(d), html_of(d)
    assert f"{CALLS} coming up" in str(d["Subject"])
    listed = [line for line in text.splitlines() if line.startswith("- Call ")]
    assert len(listed) == MAX_ITEMS
    assert listed[0].startswith("- Call 28 ") and "Call 27" not in text  # 1 Nov in, 28 Nov out
    feed = f"{BASE_URL}/feeds/all.ics?tag=ai"
    more = CALLS - MAX_ITEMS
    assert f"... and {more} more in the next 60 days: this digest lists the nearest " \
           f"{MAX_ITEMS}. Your calendar feed has them all: {feed}" in text
    assert f"and {more} more in the next 60 days" in html
    assert f'<a href="{feed.replace("&", "&amp;")}"' in html
    assert len(events_of(attachment(d))) == MAX_ITEMS  # the listed dates, as said


def test_the_same_filter_gets_the_same_attachment_and_each_reader_their_own_links(
        store: db.Store, smtp: SmtpServer) -> None:
    for who in PEOPLE:
        follow_ai(store, who)
    run(store, smtp, MONDAY)
    got = {who: digests(smtp, who) for who in PEOPLE}
    assert all(len(m) == 1 for m in got.values())
    files = {attachment(m[0]) for m in got.values()}
    assert len(files) == 1
    assert len({str(m[0]["Message-ID"]) for m in got.values()}) == len(PEOPLE)
    for who, [msg] in got.items():
        assert str(msg["To"]) == who
        web, _ = unsubscribe_urls(msg)
        assert web in text_of(msg) and web in html_of(msg)
        token = urlsplit(web).path.rsplit("/", 1)[1]
        assert subscribers.unsubscribe_by_token(store, token, MONDAY) == who


def test_several_alerts_due_at_once_come_in_one_message_once(
        store: db.Store, smtp: SmtpServer) -> None:
    follow_ai(store, "ana@uni.example", alerts_="3d")
    wednesday = brussels(2024, 10, 30, 8)  # 3 days before the five cut-offs of 1 and 2 Nov
    run(store, smtp, wednesday)
    [alert] = alerts(smtp, "ana@uni.example")
    assert str(alert["Subject"]).startswith("5 cut-offs coming up")
    text = text_of(alert)
    for n in (28, 56, 1, 29, 57):
        assert f"Call {n:02d}" in text
    run(store, smtp, brussels(2024, 10, 30, 9))
    assert len(alerts(smtp, "ana@uni.example")) == 1
    run(store, smtp, brussels(2024, 10, 31, 8))  # the next day: only the cut-offs of 3 Nov
    third = alerts(smtp, "ana@uni.example")[1:]
    assert len(third) == 1 and str(third[0]["Subject"]).startswith("3 cut-offs coming up")


def test_a_batch_another_run_partly_queued_is_queued_once(store: db.Store,
                                                          smtp: SmtpServer) -> None:
    for who in PEOPLE:
        follow_ai(store, who)
    first = queue.queue_due(store, MONDAY, BASE_URL, "tracker@grants.example.org")
    assert first.digests == len(PEOPLE)
    with store.engine.begin() as conn:  # as a second run sees them when it starts before the
        conn.execute(schema.subscribers.update()  # first one commits, for one of them
                     .where(schema.subscribers.c.email == "ben@uni.example")
                     .values(last_period=""))
    again = queue.queue_due(store, MONDAY, BASE_URL, "tracker@grants.example.org")
    assert again.digests == 0 and not again.errors
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(schema.outbox.c.recipient)).scalars().all()
    assert sorted(rows) == sorted(PEOPLE)
    run(store, smtp, MONDAY)
    assert all(len(smtp.to(who)) == 1 for who in PEOPLE)
