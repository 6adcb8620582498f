"""HTTP: feeds served from their files like a static server (`feedfiles`), filtered feeds by
query, the pages (list, calls, subscribe, manage; in `routes`), static files. Handlers that read
the database are plain functions (Starlette runs them in its thread pool, so a database read
never blocks the event loop); a GET never writes to the database."""

from __future__ import annotations

import gzip
import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tracker import store as db
from tracker import userinput
from tracker.calendar import feeds
from tracker.errors import TrackerError, UsageError
from tracker.models import Rule
from tracker.resources import templates
from tracker.usecases import rules_from
from tracker.web import feedfiles, pages, routes, static
from tracker.web.feedfiles import CACHE_CONTROL, CALENDAR_TYPE, FeedFolder

log = logging.getLogger(__name__)

FEED_PATH = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)?\.ics$")
ALLOWED_PARAMS = {"call", "tag", "kind", "alarm"}


@dataclass(frozen=True)
class Rendered:
    """A feed's bytes with its validators, computed once per store state."""

    body: bytes
    etag: str
    modified: datetime
    zipped: bytes


@dataclass
class FeedCache:
    """Feed data from the store, refreshed whenever the store's state token moves; rendered
    feeds are kept until then, so a 304 costs a dictionary look-up."""

    store: db.Store
    recheck: float = 1.0  # seconds between looks at the store: a sync shows within this
    token: str = ""
    data: feeds.FeedData | None = None
    specs: dict[str, feeds.FeedSpec] = field(default_factory=dict)
    rendered: dict[tuple[str, str], Rendered] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    looked: float = float("-inf")

    def current(self) -> feeds.FeedData:
        """Fresh data: the store is asked whether it changed at most every `recheck` seconds,
        and read again only when it did."""
        moment = time.monotonic()
        if self.data is not None and moment - self.looked < self.recheck:
            return self.data
        token = db.state_token(self.store)
        self.looked = moment
        with self.lock:
            if self.data is None or token != self.token:
                self.data = feeds.gather(self.store)
                self.specs = {f"{s.path}.ics": s for s in self.data.specs()}
                self.rendered = {}
                self.token = token
            return self.data

    def render(self, key: tuple[str, str], make: Callable[[], tuple[bytes, datetime]]) \
            -> Rendered:
        """The feed for `key` (path, query), rendered at most once per store state."""
        found = self.rendered.get(key)
        if found is None:
            body, modified = make()
            found = Rendered(body, f'"{hashlib.sha256(body).hexdigest()[:32]}', modified,
                             gzip.compress(body, compresslevel=6, mtime=0))
            if len(self.rendered) < 2000:  # filtered variants are many: keep a bounded set
                self.rendered[key] = found
        return found


def calendar_response(request: Request, feed: Rendered) -> Response:
    """A filtered feed: 200 or 304 with validators; gzip only when asked."""
    zipped = feedfiles.accepts_gzip(request.headers.get("accept-encoding", ""))
    etag = feed.etag + ('-gzip"' if zipped else '"')
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(feed.modified.astimezone(UTC), usegmt=True),
        "Cache-Control": CACHE_CONTROL,
        "Vary": "Accept-Encoding",
    }
    if feedfiles.not_modified(request.headers.get("if-none-match"),
                    request.headers.get("if-modified-since"), etag,
                    feed.modified.timestamp()):
        return Response(status_code=304, headers=headers)
    if zipped:
        headers["Content-Encoding"] = "gzip"
        return Response(feed.zipped, media_type=CALENDAR_TYPE, headers=headers)
    return Response(feed.body, media_type=CALENDAR_TYPE, headers=headers)


def _bad(message: str, status: int = 400) -> PlainTextResponse:
    return PlainTextResponse(message + "\n", status_code=status)


def public_base(request: Request, base_url: str) -> str:
    """The configured public URL, else the scheme and host this request came in on."""
    return base_url or f"{request.url.scheme}://{request.url.netloc}"


@dataclass
class RuleCache:
    """The rule files' facts the store does not keep (budget split, sources), read again when
    the store's state moves; an unreadable rule file leaves the pages with the store's facts."""

    store: db.Store
    seeds: Sequence[Path]
    token: str = "-"
    rules: dict[str, Rule] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self) -> dict[str, Rule]:
        """Rules by id (empty without seeds)."""
        if not self.seeds:
            return {}
        token = db.state_token(self.store)
        with self.lock:
            if token != self.token:
                try:
                    self.rules = {r.id: r for r in rules_from(list(self.seeds))}
                except TrackerError:
                    log.warning("rule files unreadable: call pages show the store's facts")
                    self.rules = {}
                self.token = token
            return self.rules


def make_app(store: db.Store, base_url: str = "",
             now: Callable[[], datetime] = lambda: datetime.now(UTC), *,
             seeds: Sequence[Path] = (), sender: str = "Grant tracker <tracker@localhost>",
             default_zone: str = "Europe/Brussels", recheck: float = 1.0,
             folder: FeedFolder | None = None) -> Starlette:
    """The ASGI application. `now` is injectable so tests control the clock; `seeds` give the
    call pages their budget split and sources; `sender` signs confirmation mail; the store is
    asked for changes at most every `recheck` seconds. Feeds are served from `folder` (by
    default a temporary one the app builds and keeps current itself); the app is returned with
    it as `app.state.feeds`."""
    cache = FeedCache(store, recheck)
    folder = folder or FeedFolder.private(store, base_url or "http://127.0.0.1:8080", recheck)
    rule_cache = RuleCache(store, seeds)
    env = templates()
    env.filters.update(safe_url=pages.safe_url, slug=feeds.slug)

    async def feed(request: Request) -> Response:
        """A feed file as a static server sends it; with a query, a filtered feed."""
        path = request.path_params["path"]
        if FEED_PATH.match(path) and ".." not in path:
            if request.scope["query_string"]:
                return await run_in_threadpool(filtered, request, path)
            await folder.ready()
            found = folder.answer(request.scope, path)
            if found is not None:
                return found
        return _missing(request, path)

    def _missing(request: Request, path: str) -> Response:
        return _bad(f"no feed at /feeds/{path}; see {public_base(request, base_url)}/ for the "
                    "list", 404)

    def filtered(request: Request, path: str) -> Response:
        """?call=&tag=&kind=&alarm=: rendered from the store, kept until the store moves."""
        data = cache.current()
        spec = cache.specs.get(path)
        if spec is None:
            return _missing(request, path)
        params = request.query_params
        unknown = sorted(set(params.keys()) - ALLOWED_PARAMS)
        if unknown:
            return _bad(f"unknown parameter '{unknown[0]}'; use call, tag, kind or alarm")
        try:
            alarms = userinput.leads(params.getlist("alarm"), "alarm")
            if params.getlist("call") or params.getlist("tag") or params.getlist("kind"):
                spec = feeds.narrowed(spec, userinput.items(params.getlist("call")),
                                      userinput.items(params.getlist("tag")),
                                      userinput.kinds(params.getlist("kind"), "kind"), data)
        except UsageError as exc:
            return _bad(f"bad filter: {exc}")
        query = request.url.query
        url = feeds.feed_url(public_base(request, base_url), spec) + (f"?{query}" if query
                                                                       else "")

        def make() -> tuple[bytes, datetime]:
            chosen = data.select(spec.filter)
            modified = max((data.revisions[o.id].modified for o in chosen
                            if o.id in data.revisions), default=feeds.EPOCH)
            return feeds.render(data, spec, alarms, url=url), modified

        rendered = cache.render((path, f"{query}|{url}"), make)
        return calendar_response(request, rendered)

    def health(request: Request) -> Response:  # noqa: ARG001
        return PlainTextResponse("ok\n")

    assets = static.Assets.load()
    site = routes.Site(store, env, now, lambda r: public_base(r, base_url), cache.current,
                       rule_cache.current, assets.url, sender, default_zone)
    all_routes = [
        Route("/healthz", health),
        Route("/feeds/{path:path}", feed),
        Route("/static/{name}", assets.serve),
        *routes.routes(site),
    ]

    def tracker_error(request: Request, exc: Exception) -> Response:  # noqa: ARG001
        return _bad(str(exc), 500)

    app = Starlette(routes=all_routes, exception_handlers={TrackerError: tracker_error})
    app.state.feeds = folder
    return app
