"""HTTP: feeds with ETag/Last-Modified/gzip, filtered feeds by query, an index page, and the
unsubscribe links. Handlers are plain functions (Starlette runs them in its thread pool, so a
database read never blocks the event loop); a GET never writes anything."""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from tracker import store as db
from tracker import userinput
from tracker.calendar import feeds
from tracker.errors import NotFoundError, TrackerError, UsageError
from tracker.models import Status
from tracker.resources import templates
from tracker.store import subscribers
from tracker.urls import webcal
from tracker.usecases import is_upcoming

FEED_PATH = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)?\.ics$")
ALLOWED_PARAMS = {"call", "tag", "kind", "alarm"}
CALENDAR_TYPE = "text/calendar; charset=utf-8"


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
    token: str = ""
    data: feeds.FeedData | None = None
    specs: dict[str, feeds.FeedSpec] = field(default_factory=dict)
    rendered: dict[tuple[str, str], Rendered] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self) -> feeds.FeedData:
        """Fresh data (read again only when the store changed since the last look)."""
        token = db.state_token(self.store)
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


def _not_modified(request: Request, etag: str, modified: datetime) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return etag in tags or "*" in tags
    since = request.headers.get("if-modified-since")
    if since:
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return modified.replace(microsecond=0) <= when
    return False


def _wants_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def calendar_response(request: Request, feed: Rendered, filename: str) -> Response:
    """200 or 304 with validators; gzip only when asked."""
    zipped = _wants_gzip(request)
    etag = feed.etag + ('-gzip"' if zipped else '"')
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(feed.modified.astimezone(UTC), usegmt=True),
        "Cache-Control": "public, max-age=900",
        "Vary": "Accept-Encoding",
        "Content-Disposition": f'inline; filename="{filename}"',
    }
    if _not_modified(request, etag, feed.modified):
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


def make_app(store: db.Store, base_url: str = "",
             now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Starlette:
    """The ASGI application. `now` is injectable so tests control the clock."""
    cache = FeedCache(store)
    env = templates()

    def feed(request: Request) -> Response:
        path = request.path_params["path"]
        if not FEED_PATH.match(path) or ".." in path:
            return _bad(f"no feed at /feeds/{path}; see / for the list", 404)
        data = cache.current()
        spec = cache.specs.get(path)
        if spec is None:
            return _bad(f"no feed at /feeds/{path}; see / for the list", 404)
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
        return calendar_response(request, rendered, path.replace("/", "-"))

    def index(request: Request) -> Response:
        data = cache.current()
        moment = now()
        base = public_base(request, base_url)
        upcoming = [o for o in data.items if (is_upcoming(o, moment) or o.status is
                    Status.OVERDUE) and o.status is not Status.CANCELLED][:30]
        listed = []
        for spec in data.distinct():
            url = feeds.feed_url(base, spec)
            listed.append({"title": spec.title, "url": url, "webcal": webcal(url),
                           "description": spec.description})
        html = env.get_template("index.html").render(items=upcoming, feeds=listed, now=moment,
                                                     base_url=base)
        return HTMLResponse(html)

    def unsubscribe(request: Request) -> Response:
        token = request.path_params["token"]
        if not re.fullmatch(r"[A-Za-z0-9_-]{16,100}", token):
            return _bad("This unsubscribe link is not valid.", 404)
        if request.method != "POST":  # GET and HEAD (link scanners) never change anything
            html = env.get_template("unsubscribe.html").render(done=False, email="",
                                                               action=str(request.url))
            return HTMLResponse(html)
        try:
            email = subscribers.unsubscribe_by_token(store, token, now())
        except NotFoundError as exc:
            return _bad(str(exc), 404)
        html = env.get_template("unsubscribe.html").render(done=True, email=email, action="")
        return HTMLResponse(html)

    def health(request: Request) -> Response:  # noqa: ARG001
        return PlainTextResponse("ok\n")

    routes = [
        Route("/", index),
        Route("/healthz", health),
        Route("/u/{token}", unsubscribe, methods=["GET", "POST"]),
        Route("/feeds/{path:path}", feed),
    ]

    def tracker_error(request: Request, exc: Exception) -> Response:  # noqa: ARG001
        return _bad(str(exc), 500)

    return Starlette(routes=routes, exception_handlers={TrackerError: tracker_error})
