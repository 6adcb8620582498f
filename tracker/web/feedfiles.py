"""Feeds served like a static server: from the files `feeds build` writes, with nginx's headers.

Each feed is a file X.ics; its mtime is the feed's Last-Modified, and X.ics.gz (same mtime) is
its gzip copy. A request costs an open and an fstat: the ETag is nginx's `"<mtime hex>-<size
hex>"` and Last-Modified the mtime, so `tracker serve` and an nginx serving the same folder
(docs/nginx.conf) answer alike; a 304 reads no body; a large body is streamed in chunks; the
.gz copy is sent with Content-Encoding: gzip to clients that accept it (Vary: Accept-Encoding
whenever a copy exists). A folder without .gz copies is served plain.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

import anyio.to_thread
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from tracker import store as db
from tracker.calendar import feeds

log = logging.getLogger(__name__)

CALENDAR_TYPE = "text/calendar; charset=utf-8"
CACHE_CONTROL = "public, max-age=900"
SMALL = 256 * 1024  # bodies up to this size are read whole; larger ones are streamed
CHUNK = 256 * 1024
_TYPE = (b"content-type", CALENDAR_TYPE.encode())
_CACHE = (b"cache-control", CACHE_CONTROL.encode())
_VARY = (b"vary", b"Accept-Encoding")
_GZIP = (b"content-encoding", b"gzip")


def etag_of(st: os.stat_result) -> str:
    """nginx's strong ETag for a file: '"<mtime hex>-<size hex>"'."""
    return f'"{int(st.st_mtime):x}-{st.st_size:x}"'


def not_modified(match: str | None, since: str | None, etag: str, modified: float) -> bool:
    """Whether a GET may be answered 304: If-None-Match decides when sent (weak comparison,
    RFC 9110 13.1.2); else If-Modified-Since, at or after the last change (nginx's
    `if_modified_since before`)."""
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return etag in tags or "*" in tags
    if since:
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        if when.tzinfo is None:  # '-0000': UTC
            when = when.replace(tzinfo=UTC)
        return int(modified) <= when.timestamp()
    return False


def accepts_gzip(value: str) -> bool:
    """Whether an Accept-Encoding value accepts gzip (and does not refuse it with q=0)."""
    for part in value.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


class FileAnswer(Response):
    """A feed file's answer: headers from its fstat, then its bytes (none for HEAD or 304) read
    from the file already open, so a rebuild renaming a new file in place cannot mix two."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], fd: int, size: int,
                 body: bytes | None) -> None:
        self.status_code = status
        self.raw_headers = headers
        self.background = None
        self.fd, self.size, self.body = fd, size, body or b""
        self.stream = body is None

    async def __call__(self, scope: Scope, receive: Receive,  # noqa: ARG002
                       send: Send) -> None:
        """Start, then the body: whole, or in chunks read as the client takes them."""
        try:
            await send({"type": "http.response.start", "status": self.status_code,
                        "headers": self.raw_headers})
            if not self.stream:
                await send({"type": "http.response.body", "body": self.body})
                return
            left = self.size
            while left > 0:
                chunk = os.read(self.fd, min(CHUNK, left))
                if not chunk:
                    raise OSError(f"feed file shrank while being sent ({left} bytes short)")
                left -= len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": left > 0})
        finally:
            if self.fd >= 0:
                os.close(self.fd)


def _request_headers(scope: Scope) -> tuple[str | None, str | None, str]:
    match = since = None
    encoding = ""
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            match = value.decode("latin-1")
        elif name == b"if-modified-since":
            since = value.decode("latin-1")
        elif name == b"accept-encoding":
            encoding = value.decode("latin-1")
    return match, since, encoding


def _open(path: str) -> tuple[int, os.stat_result] | None:
    """The open regular file and its fstat, or None."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        return None
    return fd, st


def answer(scope: Scope, path: str) -> FileAnswer | None:
    """GET or HEAD of the feed file at `path` (already checked to be a feed path); None when
    there is no such file. A 304 carries the validators and caching headers only (as nginx)."""
    found = _open(path)
    if found is None:
        return None
    fd, st = found
    copy = _open(path + ".gz")
    match, since, encoding = _request_headers(scope)
    headers = [_CACHE]
    body = [_TYPE]
    if copy is not None:
        headers.append(_VARY)
        if copy[1].st_mtime == st.st_mtime and accepts_gzip(encoding):
            os.close(fd)
            fd, st = copy
            body.append(_GZIP)
        else:  # not wanted, or left from an older build (another mtime): plain
            os.close(copy[0])
    etag = etag_of(st)
    headers += [(b"etag", etag.encode()),
                (b"last-modified", formatdate(int(st.st_mtime), usegmt=True).encode())]
    if not_modified(match, since, etag, st.st_mtime):
        os.close(fd)
        return FileAnswer(304, headers, -1, 0, b"")
    headers += [*body, (b"content-length", str(st.st_size).encode())]
    if st.st_size > SMALL and scope["method"] != "HEAD":
        return FileAnswer(200, headers, fd, st.st_size, None)
    try:
        data = b"" if scope["method"] == "HEAD" else os.read(fd, st.st_size)
    finally:
        os.close(fd)
    return FileAnswer(200, headers, -1, 0, data)


@dataclass
class FeedFolder:
    """The folder of built feeds a server answers from. With a `store`, the server keeps it
    current: it rebuilds the feeds (`feeds.build`) when the store's state moved, looked at most
    every `recheck` seconds, away from the event loop, while the files already there are
    served. Without one, another process (the scheduler of `tracker run`) keeps it current."""

    root: Path
    store: db.Store | None = None
    base_url: str = "http://127.0.0.1:8080"  # the address written into built feeds
    recheck: float = 1.0
    token: str = ""
    looked: float = float("-inf")
    lock: threading.Lock = field(default_factory=threading.Lock)
    owned: tempfile.TemporaryDirectory[str] | None = None

    @classmethod
    def private(cls, store: db.Store, base_url: str, recheck: float) -> FeedFolder:
        """A temporary folder of the server's own, removed with it."""
        owned = tempfile.TemporaryDirectory(prefix="tracker-feeds-")
        return cls(Path(owned.name), store, base_url, recheck, owned=owned)

    def path(self, feed: str) -> str:
        """The file of a feed path ('calls/x.ics'), already checked to stay in the folder."""
        return os.path.join(self.root, feed)

    async def ready(self) -> None:
        """Return at once, unless the store is due a look (then in a worker thread)."""
        if self.store is not None and \
                (not self.token or time.monotonic() - self.looked >= self.recheck):
            await anyio.to_thread.run_sync(self.refresh)

    def refresh(self) -> None:
        """Rebuild the feeds if the store changed since the last build. While one rebuild runs,
        other requests are served the files already there (they wait only for the first)."""
        if self.store is None or not self.lock.acquire(blocking=not self.token):
            return
        try:
            self.looked = time.monotonic()
            token = db.state_token(self.store)
            if token != self.token:
                report = feeds.build(self.store, self.root, self.base_url)
                self.token = token
                log.info("event=feeds written=%d unchanged=%d folder=%s",
                         len(report.written), len(report.unchanged), self.root)
        except Exception:
            if not self.token:
                raise
            log.exception("feeds not rebuilt: serving the last build")
        finally:
            self.lock.release()
