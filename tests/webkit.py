"""Shared parts of the web tests: the bundled seeds synced into a real store at a fixed moment,
the app served by a real uvicorn on loopback, a cookie-keeping HTTP client, SVG parsing."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tracker import store as db
from tracker import usecases
from tracker.resources import package_data
from tracker.web.app import make_app

SEEDS = package_data("seeds")
NOW = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)  # cut-off 2 (moved to 1 Feb) is next
SENDER = "Grant tracker <tracker@grants.example.org>"
SVG = "{http://www.w3.org/2000/svg}"


def synced_store(url: str, now: datetime = NOW) -> db.Store:
    """A store holding the bundled seeds as of `now`."""
    store = db.open_store(url)
    usecases.sync(store, [Path(SEEDS)], now)
    return store


@contextmanager
def serving(store: db.Store, now: datetime = NOW, base_url: str = "") -> Iterator[str]:
    """The app (the one `tracker serve` runs) on a real uvicorn on loopback; yields its URL."""
    from tests.smtpkit import live_app

    app = make_app(store, base_url, lambda: now, seeds=[Path(SEEDS)], sender=SENDER)
    with live_app(app) as url:
        yield url


@dataclass
class Reply:
    """An HTTP answer."""

    status: int
    headers: dict[str, str]
    text: str


class Client:
    """A browser-like client: keeps cookies, does not follow redirects, sends Origin."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *_args: object, **_kwargs: object) -> None:
                return None

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  NoRedirect())

    def request(self, path: str, form: dict[str, str | list[str]] | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        """GET, or POST `form` (urlencoded)."""
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form, doseq=True).encode()
        url = path if path.startswith("http") else self.base + path
        req = urllib.request.Request(url, data=data, headers=headers or {})
        try:
            with self.opener.open(req, timeout=10) as resp:
                return Reply(resp.status, {k.lower(): v for k, v in resp.headers.items()},
                             resp.read().decode())
        except urllib.error.HTTPError as err:
            return Reply(err.code, {k.lower(): v for k, v in err.headers.items()},
                         err.read().decode())

    def csrf(self, path: str = "/subscribe") -> str:
        """Open a form page and return its CSRF token (the cookie is kept)."""
        page = self.request(path)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, page.text[:500]
        return found.group(1)


def svg_of(html: str) -> ET.Element:
    """The timeline SVG in a page, parsed (it must be well-formed XML)."""
    found = re.search(r"<svg class=\"timeline\".*?</svg>", html, re.S)
    assert found, "no timeline on the page"
    return ET.fromstring(found.group(0))


def marks(svg: ET.Element, kind: str) -> list[ET.Element]:
    """The drawn marks of one kind."""
    return [g for g in svg.iter(f"{SVG}g") if g.get("data-kind") == kind]
