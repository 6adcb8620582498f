"""The pages in a real browser: Debian's Chromium, headless, driven by Playwright, against the
app on a real uvicorn on loopback. The list and its countdown in the browser's own zone, a
filter that changes the list and the feed address, a call's SVG timeline, the subscribe form
round trip through the real SMTP test server, and screenshots at 390 and 1280 px (saved under
$TRACKER_ARTIFACTS, else a temporary folder; their paths are printed)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.smtpkit import SmtpServer, text_of
from tests.webkit import NOW, SENDER, serving, synced_store
from tracker import store as db
from tracker.mail import queue, smtpurl, transport
from tracker.models import Every, Kind
from tracker.store import subscribers

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _need(reason: str) -> None:
    if os.environ.get("CI"):  # CI installs the browser: a skip there would hide a failure
        pytest.fail(f"browser tests need {reason} in CI")
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium from the system (nothing is downloaded)."""
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        _need(f"{CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("the playwright Python package")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go."""
    folder = Path(os.environ.get("TRACKER_ARTIFACTS") or tmp_path_factory.mktemp("artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Site:
    store: db.Store
    url: str


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The bundled seeds in a SQLite file, served as of 15 Jan 2025, 09:00 UTC."""
    store = synced_store(f"sqlite:///{tmp_path / 'tracker.db'}")
    with serving(store) as url:
        yield Site(store, url)
    store.close()


def page_in(browser: Any, zone: str, width: int = 1280) -> Any:
    context = browser.new_context(timezone_id=zone, locale="en-US",
                                  viewport={"width": width, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    return page


def test_list_countdown_in_the_browsers_zone_and_filters(browser: Any, site: Site) -> None:
    page = page_in(browser, "Asia/Tokyo")
    page.goto(site.url + "/")
    items = page.locator("li.item")
    assert items.count() >= 8
    assert page.locator("[data-zone]").inner_text() == "Asia/Tokyo"
    first_cutoff = page.locator("li.item[data-kind=cutoff]").first
    # cut-off 2: 1 Feb 2025 17:00 Brussels = 2 Feb 01:00 in Tokyo; 17 days after 15 Jan
    assert "2025-02-01 17:00 CET" in first_cutoff.inner_text()
    assert first_cutoff.locator("[data-local]").inner_text() == \
        "your time: Feb 2, 2025, 01:00 AM GMT+9"
    assert first_cutoff.locator("[data-countdown]").inner_text() == "17 days"
    feed = page.locator("[data-feed-url]")
    assert feed.input_value() == f"{site.url}/feeds/all.ics"

    page.select_option("#f-call", "ai-factories")
    page.select_option("#f-kind", "cutoff")
    visible = page.locator("li.item:visible")
    assert visible.count() == 4
    assert feed.input_value() == f"{site.url}/feeds/all.ics?call=ai-factories&kind=cutoff"
    server = page.context.new_page()  # the same filters rendered by the server, without script
    server.goto(page.url)
    assert page.locator("[data-feed-title]").inner_text() == \
        server.locator("[data-feed-title]").inner_text() == \
        "Grant deadlines: EuroHPC AI Factories calls for expression of interest, cut-offs"
    server.close()
    webcal = page.locator("[data-link=webcal]").get_attribute("href")
    assert webcal == f"webcal://{site.url.removeprefix('http://')}/feeds/all.ics" \
                     "?call=ai-factories&kind=cutoff"
    assert "call=ai-factories" in page.url and "kind=cutoff" in page.url
    page.fill("#f-q", "no such words")
    assert page.locator("li.item:visible").count() == 0
    assert page.locator("[data-empty]").is_visible()
    assert page.errors == []
    page.context.close()


def test_countdown_turns_to_hours_in_the_last_two_days(browser: Any, tmp_path: Path) -> None:
    moment = NOW.replace(month=1, day=31, hour=10)  # 1 Feb 17:00 CET is 30 hours away
    store = synced_store(f"sqlite:///{tmp_path / 'late.db'}", moment)
    with serving(store, moment) as url:
        page = page_in(browser, "America/New_York")
        page.goto(url + "/")
        first = page.locator("li.item[data-kind=cutoff]").first
        left = first.locator("[data-countdown]").inner_text()  # 30 h less the seconds since
        assert re.fullmatch(r"(30 hours 0 mins|29 hours 5\d mins)", left), left
        assert first.locator("[data-local]").inner_text() == \
            "your time: Feb 1, 2025, 11:00 AM EST"
        page.context.close()
    store.close()


def test_call_page_draws_every_cutoff(browser: Any, site: Site) -> None:
    page = page_in(browser, "Europe/Brussels")
    page.goto(site.url + "/calls/EUROHPC-2024-CEI-AI-01")  # the official identifier
    assert page.url == site.url + "/calls/ai-factories"
    svg = page.locator("svg.timeline")
    assert svg.is_visible()
    assert svg.locator("g.mark.cutoff").count() == 5
    assert svg.locator("g.mark.cutoff.moved").count() == 1
    assert svg.locator("g.today").count() == 1
    box = svg.bounding_box()
    assert box is not None and box["width"] > 600
    assert page.locator("table.dates tbody tr[data-kind=cutoff]").count() == 5
    assert page.errors == []
    page.context.close()


def test_subscribe_form_round_trip_through_smtp(browser: Any, site: Site,
                                                smtp: SmtpServer) -> None:
    page = page_in(browser, "America/New_York")
    page.goto(site.url + "/calls/ai-factories")
    page.click("text=Get its dates by email")
    assert page.locator("input[name=call][value=ai-factories]").is_checked()
    page.fill("#email", "ana@uni.example")
    page.check("input[name=kind][value=cutoff]")
    page.check("input[name=every][value=daily]")
    page.check("input[name=alert][value='7']")
    page.click("text=Send me the confirmation link")
    assert page.locator("h1").inner_text() == "Check your mail"
    sub = subscribers.get_subscription(site.store, "ana@uni.example")
    assert sub is None or not sub.active  # nothing before the click

    sender = transport.SmtpTransport(smtpurl.parse_smtp_url(smtp.url))
    queue.send_due(site.store, sender, SENDER, NOW + timedelta(minutes=1))
    [mail] = [m.message for m in smtp.to("ana@uni.example")]
    link = re.search(r"(http://\S+/confirm/\S+)", text_of(mail))
    assert link
    page.goto(link.group(1))
    page.click("text=Confirm subscription")
    assert page.locator("h1").inner_text() == "Subscribed"
    sub = subscribers.get_subscription(site.store, "ana@uni.example")
    assert sub is not None and sub.active
    assert (sub.calls, sub.kinds, sub.every, sub.alerts, sub.timezone) == (
        ("ai-factories",), (Kind.CUTOFF,), Every.DAILY, (7,), "America/New_York")
    assert page.errors == []
    page.context.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_screenshots_and_layout(browser: Any, site: Site, artifacts: Path, width: int) -> None:
    page = page_in(browser, "Europe/Berlin", width)
    saved = []
    for name, path in (("list", "/"), ("call", "/calls/ai-factories"),
                       ("subscribe", "/subscribe")):
        page.goto(site.url + path)
        assert page.evaluate("document.documentElement.lang") == "en"
        # nothing wider than the screen: no sideways scrolling on a phone
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        unlabelled = page.evaluate("""[...document.querySelectorAll(
            'input:not([type=hidden]), select')].filter(e => !(e.labels && e.labels.length)
            && !e.closest('label')).map(e => e.name || e.id)""")
        assert unlabelled == [], unlabelled
        shot = artifacts / f"{name}-{width}.png"
        page.screenshot(path=str(shot), full_page=True)
        saved.append(shot)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    for shot in saved:
        assert shot.stat().st_size > 10_000
        print(f"screenshot: {shot}")
    assert page.errors == []
    page.context.close()
