"""Subscribing on the web: a confirmation mail first (through the outbox and a real SMTP server),
nothing before the click, the same answer for every address, CSRF and rate limits, and the page
behind the link in every mail (change or stop)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.smtpkit import SmtpServer, text_of, unsubscribe_urls
from tests.webkit import NOW, SENDER, Client, serving, synced_store
from tracker import store as db
from tracker.mail import queue, smtpurl, transport
from tracker.models import Every, Kind, Subscription
from tracker.store import outbox, subscribers

FORM: dict[str, str | list[str]] = {
    "email": "ana@uni.example", "call": ["ai-factories"], "kind": ["cutoff"], "every": "daily",
    "alert": ["7", "1"], "timezone": "America/New_York"}


@dataclass
class Site:
    """A served store and a client."""

    store: db.Store
    client: Client


@pytest.fixture
def site(db_url: str) -> Iterator[Site]:
    store = synced_store(db_url)
    with serving(store) as url:
        yield Site(store, Client(url))
    store.close()


def drain(store: db.Store, smtp: SmtpServer) -> None:
    """What the daemon's drain does: send the outbox over SMTP."""
    sender = transport.SmtpTransport(smtpurl.parse_smtp_url(smtp.url))
    report = queue.send_due(store, sender, SENDER, NOW + timedelta(minutes=1))
    assert not report.errors, report.errors


def ask(site: Site, **changes: str | list[str]) -> int:
    """Fill the form as a browser does (CSRF cookie and field) and send it."""
    form: dict[str, str | list[str]] = {**FORM, **changes, "csrf": site.client.csrf()}
    return site.client.request("/subscribe", form, {"Origin": site.client.base}).status


def confirm_link(smtp: SmtpServer, to: str) -> str:
    [mail] = [m.message for m in smtp.to(to)]
    assert str(mail["Subject"]) == "Confirm your grant deadline digest"
    found = re.search(r"(http://\S+/confirm/[A-Za-z0-9_-]+)", text_of(mail))
    assert found, text_of(mail)
    return found.group(1)


def test_double_opt_in_round_trip(site: Site, smtp: SmtpServer) -> None:
    assert ask(site) == 202
    pending = subscribers.get_subscription(site.store, "ana@uni.example")
    assert pending is None or not pending.active
    assert queue.queue_due(site.store, NOW + timedelta(days=3), "", SENDER).digests == 0
    drain(site.store, smtp)
    link = confirm_link(smtp, "ana@uni.example")
    page = site.client.request(link)  # a link scanner's GET changes nothing
    assert page.status == 200 and "Confirm subscription" in page.text
    sub = subscribers.get_subscription(site.store, "ana@uni.example")
    assert sub is None or not sub.active
    done = site.client.request(link, {})
    assert done.status == 200 and "Subscribed" in done.text
    sub = subscribers.get_subscription(site.store, "ana@uni.example")
    assert sub is not None and sub.active
    assert (sub.calls, sub.kinds, sub.every, sub.alerts, sub.timezone) == (
        ("ai-factories",), (Kind.CUTOFF,), Every.DAILY, (7, 1), "America/New_York")
    assert site.client.request(link, {}).status == 404  # used once


def test_same_answer_whatever_the_address_and_nothing_before_the_click(
        site: Site, smtp: SmtpServer) -> None:
    known, _ = subscribers.save_subscription(
        site.store, Subscription("ben@uni.example", calls=("eu-ai-policy",)), NOW)
    answers = {ask(site, email="ben@uni.example"), ask(site, email="new@uni.example")}
    pages = {site.client.request("/subscribe", {**FORM, "email": e,
                                                "csrf": site.client.csrf()}).text
             .replace(e, "ADDRESS") for e in ("ben@uni.example", "nobody@uni.example")}
    assert answers == {202} and len(pages) == 1
    drain(site.store, smtp)
    assert [str(m.message["Subject"]) for m in smtp.to("new@uni.example")] == \
        ["Confirm your grant deadline digest"]
    after = subscribers.get_subscription(site.store, "ben@uni.example")
    assert after is not None and after.calls == known.calls  # unchanged until the click


def test_csrf_and_origin_are_checked(site: Site) -> None:
    bare = site.client.request("/subscribe", dict(FORM))
    assert bare.status == 403
    token = site.client.csrf()
    other = site.client.request("/subscribe", {**FORM, "csrf": token},
                                {"Origin": "https://evil.example"})
    assert other.status == 403
    assert outbox.list_outbox(site.store) == []


def test_rate_limits_per_address_and_per_client(site: Site, smtp: SmtpServer) -> None:
    assert [ask(site) for _ in range(5)] == [202] * 5  # the same answer, fewer mails
    drain(site.store, smtp)
    assert len(smtp.to("ana@uni.example")) == 3
    statuses = [ask(site, email=f"p{i}@uni.example") for i in range(6)]
    assert statuses == [202] * 5 + [429]  # 10 requests an hour from one client


def test_bad_address_is_shown_next_to_the_field(site: Site) -> None:
    r = site.client.request("/subscribe", {**FORM, "email": "not an address",
                                           "csrf": site.client.csrf()})
    assert r.status == 400 and 'aria-invalid="true"' in r.text
    assert "name@example.org" in r.text


def test_link_in_the_mail_changes_or_stops_the_subscription(site: Site,
                                                           smtp: SmtpServer) -> None:
    ask(site)
    drain(site.store, smtp)
    confirmation = site.client.request(confirm_link(smtp, "ana@uni.example"))
    assert "<h1>Confirm your subscription</h1>" in confirmation.text
    site.client.request(confirm_link(smtp, "ana@uni.example"), {})
    [mail] = [m.message for m in smtp.to("ana@uni.example")]
    stale = site.client.request(unsubscribe_urls(mail)[0])  # confirming ended that link
    assert "<h1>Unsubscribe?</h1>" in stale.text and "Save changes" not in stale.text
    due = NOW + timedelta(hours=5)  # 08:00 in New York: the first daily digest
    assert queue.queue_due(site.store, due, site.client.base, SENDER).digests == 1
    sender = transport.SmtpTransport(smtpurl.parse_smtp_url(smtp.url))
    queue.send_due(site.store, sender, SENDER, due)
    digest = smtp.to("ana@uni.example")[-1].message
    assert str(digest["Subject"]).startswith("Grant deadlines")
    manage, _ = unsubscribe_urls(digest)
    page = site.client.request(manage)
    assert page.status == 200 and "<h1>Your subscription</h1>" in page.text
    assert "Unsubscribe?" in page.text
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    changed = site.client.request(manage, {"action": "change", "csrf": token.group(1),
                                           "every": "monthly", "call": ["eu-ai-policy"]})
    assert changed.status == 200 and "Saved" in changed.text
    sub = subscribers.get_subscription(site.store, "ana@uni.example")
    assert sub is not None and (sub.every, sub.calls) == (Every.MONTHLY, ("eu-ai-policy",))
    gone = site.client.request(manage, {"List-Unsubscribe": "One-Click"})
    assert gone.status == 200 and "ana@uni.example will get no more" in gone.text
    sub = subscribers.get_subscription(site.store, "ana@uni.example")
    assert sub is not None and not sub.active
