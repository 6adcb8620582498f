"""Feeds served like a static server: from the files `feeds build` writes, with nginx's headers.

Each feed is a file X.ics; its mtime is the feed's Last-Modified, and X.ics.gz (same mtime) is
its gzip copy. The ETag is nginx's `"<mtime hex>-<size hex>"`, so `tracker serve` and an nginx
serving the same folder (contrib/nginx/tracker.conf) answer alike. The .gz copy is sent with
Content-Encoding: gzip to clients that accept gzip (Vary: Accept-Encoding whenever a copy
exists); a folder without copies is served plain. Like nginx's open_file_cache, what a stat told
(validators, headers) and small bodies are kept for `recheck` seconds, so a request costs no
system call, a 304 never reads a body, and a body is read again only when its file changed;
large bodies are streamed from the file in chunks.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
SMALL = 256 * 1024  # bodies up to this size are kept in memory; larger ones are streamed
CHUNK = 256 * 1024
KEPT_BYTES = 64 * 1024 * 1024  # at most this much of small bodies is kept
Headers = list[tuple[bytes, bytes]]
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
    """A feed's answer: headers, then its bytes, whole or streamed from an open file (read as
    the client takes them; a rebuild renaming a new file in place cannot mix two)."""

    def __init__(self, status: int, headers: Headers, body: bytes = b"", fd: int = -1,
                 size: int = 0) -> None:
        self.status_code = status
        self.raw_headers = headers
        self.background = None
        self.body, self.fd, self.size = body, fd, size

    async def __call__(self, scope: Scope, receive: Receive,  # noqa: ARG002
                       send: Send) -> None:
        """Start, then the body."""
        try:
            await send({"type": "http.response.start", "status": self.status_code,
                        "headers": self.raw_headers})
            if self.fd < 0:
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


def _key(st: os.stat_result) -> tuple[int, int, int]:
    return st.st_ino, st.st_mtime_ns, st.st_size


@dataclass(frozen=True)
class Variant:
    """One representation of a feed (plain, or its gzip copy) as a stat of its file found it."""

    path: str
    key: tuple[int, int, int]
    etag: str
    mtime: float
    validators: Headers  # what a 304 carries
    headers: Headers  # what a 200 carries
    body: bytes | None  # None: larger than SMALL, streamed from the file

    @classmethod
    def of(cls, path: str, fd: int, st: os.stat_result, vary: bool, zipped: bool,
           old: Variant | None) -> Variant:
        """From an open file; the body is read only when the file is not the one `old` read."""
        etag = etag_of(st)
        validators = [_CACHE, *([_VARY] if vary else []), (b"etag", etag.encode()),
                      (b"last-modified", formatdate(int(st.st_mtime), usegmt=True).encode())]
        body = None
        if st.st_size <= SMALL:
            same = old is not None and old.key == _key(st) and old.body is not None
            body = old.body if same and old is not None else os.read(fd, st.st_size)
        length = st.st_size if body is None else len(body)
        headers = [*validators, _TYPE, *([_GZIP] if zipped else []),
                   (b"content-length", str(length).encode())]
        return cls(path, _key(st), etag, st.st_mtime, validators, headers, body)


@dataclass(frozen=True)
class Entry:
    """A feed as last looked at: plain, and the gzip copy when it belongs to the same build."""

    plain: Variant
    zipped: Variant | None
    until: float  # look at the files again from this moment (monotonic)
    generation: int

    @property
    def size(self) -> int:
        """Bytes of bodies kept."""
        return sum(len(v.body or b"") for v in (self.plain, self.zipped) if v is not None)


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


def load(path: str, old: Entry | None, until: float, generation: int) -> Entry | None:
    """Look at a feed's file and its .gz copy (a copy with another mtime is left from another
    build: not sent, but its presence still varies the answer, as with nginx's gzip_static)."""
    found = _open(path)
    if found is None:
        return None
    copy = _open(path + ".gz")
    try:
        plain = Variant.of(path, *found, copy is not None, False, old.plain if old else None)
        zipped = None
        if copy is not None and copy[1].st_mtime == found[1].st_mtime:
            zipped = Variant.of(path + ".gz", *copy, True, True, old.zipped if old else None)
    finally:
        for fd, _ in (found, copy) if copy is not None else (found,):
            os.close(fd)
    return Entry(plain, zipped, until, generation)


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


@dataclass
class FeedFolder:
    """The folder of built feeds a server answers from. With a `store`, the server keeps it
    current: it rebuilds the feeds (`feeds.build`) when the store's state moved, looked at most
    every `recheck` seconds, away from the event loop, while the files already there are
    served. Without one, another process (the scheduler of `tracker run`) keeps it current and
    a rebuilt file is served within `recheck` seconds."""

    root: Path
    store: db.Store | None = None
    base_url: str = "http://127.0.0.1:8080"  # the address written into built feeds
    recheck: float = 1.0
    token: str = ""
    looked: float = float("-inf")
    lock: threading.Lock = field(default_factory=threading.Lock)
    owned: tempfile.TemporaryDirectory[str] | None = None
    entries: dict[str, Entry] = field(default_factory=dict)  # touched by the event loop only
    kept: int = 0
    generation: int = 0  # moves with every rebuild: what was looked at before is stale
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @classmethod
    def private(cls, store: db.Store, base_url: str, recheck: float) -> FeedFolder:
        """A temporary folder of the server's own, removed with it."""
        owned = tempfile.TemporaryDirectory(prefix="tracker-feeds-")
        return cls(Path(owned.name), store, base_url, recheck, owned=owned)

    def answer(self, scope: Scope, feed: str) -> FileAnswer | None:
        """GET or HEAD of a feed path ('calls/x.ics', already checked to stay in the folder);
        None when there is no such file."""
        entry = self.entries.get(feed)
        moment = time.monotonic()
        if entry is None or moment >= entry.until or entry.generation != self.generation:
            entry = self._look(feed, entry, moment)
            if entry is None:
                return None
        match, since, encoding = _request_headers(scope)
        v = entry.zipped if entry.zipped is not None and accepts_gzip(encoding) else entry.plain
        if not_modified(match, since, v.etag, v.mtime):
            return FileAnswer(304, v.validators)
        if scope["method"] == "HEAD":
            return FileAnswer(200, v.headers)
        if v.body is not None:
            return FileAnswer(200, v.headers, v.body)
        found = _open(v.path)
        if found is None:  # gone since the look: look again
            self.entries.pop(feed, None)
            return self.answer(scope, feed)
        fd, st = found
        if _key(st) != v.key:  # replaced since the look: send the new file, look again next
            self._forget(feed)
            v = Variant.of(v.path, fd, st, _VARY in v.validators, _GZIP in v.headers, None)
        return FileAnswer(200, v.headers, fd=fd, size=st.st_size)

    def _look(self, feed: str, old: Entry | None, moment: float) -> Entry | None:
        entry = load(os.path.join(self.root, feed), old, moment + self.recheck, self.generation)
        self._forget(feed)
        if entry is not None:
            self.entries[feed] = entry
            self.kept += entry.size
            while self.kept > KEPT_BYTES:  # the least recently looked at go first
                self._forget(next(iter(self.entries)))
        return entry

    def _forget(self, feed: str) -> None:
        gone = self.entries.pop(feed, None)
        if gone is not None:
            self.kept -= gone.size

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
            now = self.clock()
            token = f"{db.state_token(self.store)} {now.date()}"  # 'all' moves once a day
            if token != self.token:
                report = feeds.build(self.store, self.root, self.base_url, now)
                self.token = token
                self.generation += 1
                log.info("event=feeds written=%d unchanged=%d folder=%s",
                         len(report.written), len(report.unchanged), self.root)
        except Exception:
            if not self.token:
                raise
            log.exception("feeds not rebuilt: serving the last build")
        finally:
            self.lock.release()
