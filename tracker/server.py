"""HTTP: feeds with ETag/Last-Modified/gzip, filtered feeds by query, and a small index page."""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from tracker import feeds, feedset
from tracker import store as db
from tracker.errors import NotFoundError, TrackerError, UsageError
from tracker.service import is_upcoming
from tracker.store import mail
from tracker.templating import templates

FEED_PATH = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)?\.ics$")
ALLOWED_PARAMS = {"call", "tag", "kind", "alarm"}
CALENDAR_TYPE = "text/calendar; charset=utf-8"


@dataclass
class FeedCache:
    """Feeds rendered from the store, refreshed whenever the store's state token moves."""

    store: db.Store
    out: Path
    base_url: str
    token: str = ""
    data: feedset.FeedData | None = None
    specs: dict[str, feeds.FeedSpec] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self) -> feedset.FeedData:
        """Fresh data; rebuilds the feed files when the store changed since the last look."""
        token = db.state_token(self.store)
        with self.lock:
            if self.data is None or token != self.token:
                self.data = feedset.gather(self.store)
                feedset.build(self.store, self.out, self.base_url, self.data)
                self.specs = {f"{s.path}.ics": s for s in self.data.specs()}
                self.token = token
            return self.data


def _etag(body: bytes, suffix: str = "") -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}{suffix}"'


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


def calendar_response(request: Request, body: bytes, modified: datetime,
                      filename: str) -> Response:
    """200 or 304 with validators; gzip only when asked."""
    zipped = _wants_gzip(request)
    etag = _etag(body, "-gzip" if zipped else "")
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(modified.astimezone(UTC), usegmt=True),
        "Cache-Control": "public, max-age=900",
        "Vary": "Accept-Encoding",
        "Content-Disposition": f'inline; filename="{filename}"',
    }
    if _not_modified(request, etag, modified):
        return Response(status_code=304, headers=headers)
    if zipped:
        body = gzip.compress(body, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=CALENDAR_TYPE, headers=headers)


def _bad(message: str, status: int = 400) -> PlainTextResponse:
    return PlainTextResponse(message + "\n", status_code=status)


def make_app(store: db.Store, out: Path, base_url: str,
             now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Starlette:
    """The ASGI application. `now` is injectable so tests control the clock."""
    cache = FeedCache(store, out, base_url)
    env = templates()

    async def feed(request: Request) -> Response:
        path = request.path_params["path"]
        if not FEED_PATH.match(path) or ".." in path:
            return _bad(f"no feed at /feeds/{path}; see {base_url}/ for the list", 404)
        data = cache.current()
        spec = cache.specs.get(path)
        if spec is None:
            return _bad(f"no feed at /feeds/{path}; see {base_url}/ for the list", 404)
        params = request.query_params
        unknown = sorted(set(params.keys()) - ALLOWED_PARAMS)
        if unknown:
            return _bad(f"unknown parameter '{unknown[0]}'; use call, tag, kind or alarm")
        try:
            alarms = feedset.parse_alarms(",".join(params.getlist("alarm")))
            if params.getlist("call") or params.getlist("tag") or params.getlist("kind"):
                spec = feedset.filtered_spec(spec, params.getlist("call"), params.getlist("tag"),
                                             params.getlist("kind"), data)
        except UsageError as exc:
            return _bad(f"bad filter: {exc}")
        if spec is cache.specs.get(path) and not alarms:
            try:
                body = (out / path).read_bytes()
            except FileNotFoundError:
                body = feedset.render(data, spec, url=feedset.feed_url(base_url, spec))
        else:  # the public URL (base_url), never the Host/scheme this request came in on
            query = request.url.query
            url = feedset.feed_url(base_url, spec) + (f"?{query}" if query else "")
            body = feedset.render(data, spec, alarms, url=url)
        chosen = [data.revisions[o.id].modified for o in data.items
                  if spec.holds(o) and o.id in data.revisions]
        modified = max(chosen, default=feedset.EPOCH)
        return calendar_response(request, body, modified, path.replace("/", "-"))

    async def index(request: Request) -> Response:
        data = cache.current()
        moment = now()
        upcoming = [o for o in data.items
                    if is_upcoming(o, moment) and o.status.value != "cancelled"][:30]
        listed = []
        for spec in data.specs():
            url = feedset.feed_url(base_url, spec)
            listed.append({"title": spec.title, "url": url, "webcal": feedset.webcal(url),
                           "description": spec.description})
        html = env.get_template("index.html").render(items=upcoming, feeds=listed, now=moment,
                                                     base_url=base_url)
        return HTMLResponse(html)

    async def unsubscribe(request: Request) -> Response:
        token = request.path_params["token"]
        if not re.fullmatch(r"[A-Za-z0-9_-]{16,100}", token):
            return _bad("This unsubscribe link is not valid.", 404)
        if request.method == "GET":  # link scanners follow GETs: ask for a click first
            html = env.get_template("unsubscribe.html").render(done=False, email="",
                                                               action=str(request.url))
            return HTMLResponse(html)
        try:
            email = mail.unsubscribe_by_token(store, token, now())
        except NotFoundError as exc:
            return _bad(str(exc), 404)
        html = env.get_template("unsubscribe.html").render(done=True, email=email, action="")
        return HTMLResponse(html)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    routes = [
        Route("/", index),
        Route("/healthz", health),
        Route("/u/{token}", unsubscribe, methods=["GET", "POST"]),
        Route("/feeds/{path:path}", feed),
    ]
    async def tracker_error(request: Request, exc: Exception) -> Response:
        return _bad(str(exc), 500)

    return Starlette(routes=routes, exception_handlers={TrackerError: tracker_error})


def serve(store: db.Store, out: Path, base_url: str, host: str, port: int) -> None:
    """Run the server until interrupted."""
    import uvicorn

    uvicorn.run(make_app(store, out, base_url), host=host, port=port, log_level="info",
                server_header=False)
