"""The pages over real HTTP (uvicorn on loopback, SQLite and PostgreSQL): the list and its
filters, call pages, links that follow the requested host, static files with validators."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.webkit import Client, marks, serving, svg_of, synced_store
from tracker.web.pages import links, safe_url


@pytest.fixture
def site(db_url: str) -> Iterator[Client]:
    """The bundled seeds on each back end, served as of 15 Jan 2025."""
    store = synced_store(db_url)
    with serving(store) as url:
        yield Client(url)
    store.close()


def items(html: str) -> list[str]:
    """The ids of the calls of the listed items, in order."""
    return re.findall(r'<li class="item [^"]*" data-call="([^"]+)"', html)


def test_list_shows_what_is_coming_nearest_first_with_every_feed(site: Client) -> None:
    r = site.request("/")
    assert r.status == 200 and r.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in r.text
    assert "2025-02-01 17:00 CET" in r.text and "2024-11-04 17:00" not in r.text
    assert len(re.findall(r'data-instant="', r.text)) == len(items(r.text)) >= 8
    timed = re.findall(r'data-instant="([^"]+)" data-allday="no"', r.text)
    assert len(timed) >= 4 and timed == sorted(timed, key=datetime.fromisoformat)
    assert "No call is open" not in r.text
    # one feed per meaning, each with webcal, Google, Outlook and https links on this host
    feeds = re.findall(r'<li><strong>([^<]+)</strong>', r.text)
    assert len(feeds) == len(set(feeds)) >= 3
    base = site.base
    host = base.removeprefix("http://")
    assert f'href="webcal://{host}/feeds/all.ics"' in r.text
    assert f'href="{base}/feeds/calls/ai-factories.ics"' in r.text
    assert "calendar.google.com/calendar/render?cid=webcal%3A%2F%2F" in r.text
    assert "outlook.live.com/calendar/0/addfromweb?url=http%3A%2F%2F" in r.text
    assert "Content-Security-Policy" in {k.title() for k in r.headers} or \
        "content-security-policy" in r.headers


def test_filters_narrow_the_list_and_the_feed_address(site: Client) -> None:
    everything = items(site.request("/").text)
    r = site.request("/?call=ai-factories&kind=cutoff")
    chosen = items(r.text)
    assert chosen == ["ai-factories"] * 4 and len(everything) > len(chosen)
    assert f'value="{site.base}/feeds/all.ics?call=ai-factories&amp;kind=cutoff"' in r.text
    assert "<strong data-feed-title>Grant deadlines: EuroHPC AI Factories calls for " \
           "expression of interest, cut-offs</strong>" in r.text
    feed = site.request("/feeds/all.ics?call=ai-factories&kind=cutoff")
    assert feed.status == 200 and feed.text.count("BEGIN:VEVENT") == 5  # past one too
    programme = site.request("/?programme=horizon-europe")
    assert set(items(programme.text)) == {"ai-factories"}
    assert f"{site.base}/feeds/programmes/horizon-europe.ics" in programme.text
    open_now = site.request("/?state=open")
    assert set(items(open_now.text)) == {"ai-factories"}
    assert f"{site.base}/feeds/all.ics?call=ai-factories" in open_now.text
    assert set(items(site.request("/?q=prohibited").text)) == {"eu-ai-policy"}
    assert items(site.request("/?q=no-such-words").text) == []
    assert "Nothing matches these filters" in site.request("/?q=no-such-words").text


def test_call_page_has_facts_dates_history_and_timeline(site: Client) -> None:
    r = site.request("/calls/ai-factories")
    assert r.status == 200
    svg = svg_of(r.text)
    assert len(marks(svg, "cutoff")) == 5
    assert [g.get("data-status") for g in marks(svg, "cutoff")] == [
        "confirmed", "moved", "tentative", "tentative", "tentative"]
    for fact in ("EuroHPC Joint Undertaking", "about EUR 1,000,000,000",
                 "Member-state matching funds", "as long as funds are available",
                 "moved from 2025-02-04 17:00 CET to 2025-02-01 17:00 CET",
                 "derived from the call&#39;s recurring schedule",
                 "2024-11-04 17:00 CET", "Timeline as text"):
        assert fact in r.text, fact
    assert 'href="https://europeaninterest.eu/' in r.text  # the change's source, linked
    assert f'value="{site.base}/feeds/calls/ai-factories.ics"' in r.text
    assert 'href="/subscribe?call=ai-factories"' in r.text


def test_official_identifier_resolves_and_unknown_call_is_404(site: Client) -> None:
    r = site.request("/calls/EUROHPC-2024-CEI-AI-02")
    assert r.status == 301 and r.headers["location"] == "/calls/ai-factories"
    missing = site.request("/calls/nope")
    assert missing.status == 404 and "No call with id" in missing.text


def test_links_follow_the_requested_host_unless_a_base_url_is_set(db_url: str) -> None:
    store = synced_store(db_url)
    with serving(store) as url:
        r = Client(url).request("/", headers={"Host": "grants.example.org:8443"})
        assert 'href="webcal://grants.example.org:8443/feeds/all.ics"' in r.text
    with serving(store, base_url="https://deadlines.example.eu") as url:
        r = Client(url).request("/calls/ai-factories")
        assert 'value="https://deadlines.example.eu/feeds/calls/ai-factories.ics"' in r.text
    store.close()


def test_static_files_have_validators_and_long_caching(site: Client) -> None:
    page = site.request("/").text
    css = re.search(r'href="(/static/app\.css\?v=[0-9a-f]+)"', page)
    assert css
    r = site.request(css.group(1))
    assert r.status == 200 and r.headers["content-type"].startswith("text/css")
    assert "immutable" in r.headers["cache-control"] and r.headers["etag"].startswith('"')
    again = site.request(css.group(1), headers={"If-None-Match": r.headers["etag"]})
    assert again.status == 304
    assert site.request("/static/../pyproject.toml").status == 404
    assert site.request("/static/nope.js").status == 404


def test_when_nothing_is_open_the_page_says_so_and_shows_the_next_dates(db_url: str) -> None:
    later = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)  # AI Factories closed; AI Act dates remain
    store = synced_store(db_url, later)
    with serving(store, later) as url:
        r = Client(url).request("/")
    store.close()
    assert "No call is open for proposals right now" in r.text
    assert items(r.text) and "ai-factories" not in items(r.text)


def test_only_http_urls_reach_an_href() -> None:
    assert safe_url("javascript:alert(1)") == "" and safe_url("https://x.eu/") == "https://x.eu/"
    subscribe = links("https://h.example/feeds/all.ics", "Grant deadlines & more")
    assert subscribe.webcal == "webcal://h.example/feeds/all.ics"
    assert subscribe.outlook_web.endswith("&name=Grant%20deadlines%20%26%20more")
