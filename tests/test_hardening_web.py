"""Hardening, defects 1 and 6: link scanners never unsubscribe; malformed requests never get a
5xx; slow and idle clients are dropped and never keep a normal reader out.

A real `tracker serve` subprocess on loopback (with its limits shortened to 1 s through the
module constants of tracker.web.serve), real sockets, a real SQLite store.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.pg import free_port
from tests.smtpkit import BASE_URL, SENDER, brussels, follow, parse, unsubscribe_urls, write_seeds
from tracker import store as db
from tracker import usecases
from tracker.mail import queue
from tracker.store import outbox, subscribers

T = brussels(2024, 10, 28, 8)
PEOPLE = ("scan@uni.example", "click@uni.example")


@dataclass(frozen=True)
class Site:
    """A running `tracker serve` and the unsubscribe tokens of its subscribers."""

    url: str
    port: int
    database: str
    tokens: dict[str, str]


def _tokens(store: db.Store) -> dict[str, str]:
    """Each subscriber's unsubscribe token, from the one-click link of its queued digest."""
    out = {}
    for row in outbox.list_outbox(store):
        web, _ = unsubscribe_urls(parse(row.payload))
        out[row.recipient] = web.rsplit("/", 1)[1]
    return out


def get(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, str]:
    """(status, body) of one request; HTTP errors are answers too."""
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def start_serve(folder: Path, header: float = 1.0, idle: int = 1, limit: int = 500) \
        -> tuple[subprocess.Popen[bytes], Site]:
    """`tracker serve` as a subprocess, with its store, seeds and two subscribers with mail."""
    seeds = write_seeds(folder / "seeds")
    database = f"sqlite:///{folder / 'tracker.db'}"
    store = db.open_store(database)
    usecases.sync(store, [seeds], brussels(2024, 10, 1, 9))
    for person in PEOPLE:
        follow(store, person)
    queue.queue_due(store, T, BASE_URL, SENDER)
    tokens = _tokens(store)
    store.close()
    port = free_port()
    code = ("import sys, tracker.web.serve as s\n"
            f"s.HEADER_TIMEOUT, s.IDLE_TIMEOUT, s.MAX_CONNECTIONS = {header}, {idle}, {limit}\n"
            f"sys.argv = ['tracker', '--seeds', {str(seeds)!r}, 'serve', '--port', '{port}']\n"
            "from tracker.cli import main\nmain()\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(TRACKER_DATABASE_URL=database, PYTHONPATH=str(Path(__file__).parent.parent))
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "tracker serve did not answer within 20 s"
        try:
            if get(url + "/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.05)
    return proc, Site(url, port, database, tokens)


def stop_serve(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, and it must exit 0."""
    proc.terminate()
    assert proc.wait(15) == 0


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One server for the module: 1 s header and idle timeouts."""
    proc, found = start_serve(tmp_path_factory.mktemp("site"))
    yield found
    stop_serve(proc)


def still_subscribed(site: Site, email: str) -> bool:
    """Whether the address still gets mail, read from the server's database."""
    store = db.open_store(site.database)
    try:
        sub = subscribers.get_subscription(store, email)
        assert sub is not None
        return sub.active
    finally:
        store.close()


def raw(port: int, data: bytes, wait: float = 5.0) -> bytes:
    """Send raw bytes; what came back before the server answered a status line or closed (an
    incomplete request is closed by the 1 s header deadline)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        with contextlib.suppress(OSError):  # the server may close on us mid-send
            s.sendall(data)
        got = b""
        try:
            while b"\r\n" not in got:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return got


# ------------------------------------------------------------------ defect 1: link scanners

def test_head_and_get_show_the_page_and_only_post_unsubscribes(site: Site) -> None:
    """curl -I, a previewer's GET, OPTIONS: nothing changes; the one-click POST unsubscribes."""
    email = PEOPLE[0]
    link = f"{site.url}/u/{site.tokens[email]}"
    for method in ("HEAD", "GET", "HEAD", "GET"):
        status, body = get(link, method)
        assert status == 200, (method, status)
        assert method == "HEAD" or "<form" in body
    assert get(link, "OPTIONS")[0] == 405
    assert get(link, "PUT", b"")[0] == 405
    assert still_subscribed(site, email)
    status, body = get(link, "POST", b"List-Unsubscribe=One-Click")
    assert status == 200 and email in body
    assert not still_subscribed(site, email)
    assert get(link, "POST", b"List-Unsubscribe=One-Click")[0] == 404  # a used token is dead


# ------------------------------------------------------------------ malformed requests

def malformed(token: str) -> list[bytes]:
    """139 hostile requests: broken framing, huge parts, odd methods, hostile paths/queries."""
    host = b"Host: 127.0.0.1\r\n"
    framing = [
        b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET /\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n", b"GET / HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", b"\x00\x01\x02\xff\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + host + b"X: \x00\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + host + b"X: " + b"a" * 200_000 + b"\r\n\r\n",
        b"GET /" + b"a" * 200_000 + b" HTTP/1.1\r\n" + host + b"\r\n",
        b"GET / HTTP/1.1\r\n" + host + b"".join(b"X%d: y\r\n" % i for i in range(3000)) + b"\r\n",
        b"POST / HTTP/1.1\r\n" + host + b"Content-Length: -1\r\n\r\n",
        b"POST / HTTP/1.1\r\n" + host + b"Content-Length: abc\r\n\r\n",
        b"POST / HTTP/1.1\r\n" + host + b"Content-Length: 99999999999999999999\r\n\r\nx",
        b"POST / HTTP/1.1\r\n" + host + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"
        b"\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\n" + host + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n",
        b"POST / HTTP/1.1\r\n" + host + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + host + b"Expect: 100-continue\r\nContent-Length: 3\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + host + b"Connection: upgrade\r\nUpgrade: websocket\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + host + b" folded: line\r\n\r\n",
        b"GET / HTTP/1.0\r\n\r\n", b"GET http://evil.example/ HTTP/1.1\r\n" + host + b"\r\n",
        b"GET * HTTP/1.1\r\n" + host + b"\r\n", b"CONNECT evil.example:443 HTTP/1.1\r\n" + host
        + b"\r\n",
    ]
    paths = [
        "/", "/healthz", "/feeds/", "/feeds/../../etc/passwd", "/feeds/..%2f..%2fetc%2fpasswd",
        "/feeds/%00.ics", "/feeds/all.ics%00", "/feeds/all.ics?call=%ff%fe", "/feeds/x.ics",
        "/feeds/all.ics?alarm=-99999999d", "/feeds/all.ics?alarm=1e400",
        "/feeds/all.ics?alarm=" + "9" * 400, "/feeds/all.ics?kind=<script>",
        "/feeds/all.ics?call=" + "a," * 5000, "/feeds/all.ics?tag=%0d%0aSet-Cookie:x",
        "/feeds/all.ics?nope=1", "/feeds/" + "a" * 5000 + ".ics", "/u/", "/u/short",
        "/u/" + "a" * 5000, "/u/%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00",
        f"/u/{token}/..", f"/u/{token}%00", "/?" + "&".join(["a=b"] * 5000), "//" * 1000,
    ]
    odd_headers = [
        b"If-Modified-Since: not a date\r\n", b"If-Modified-Since: Mon, 99 Foo 99999 99:99:99\r\n",
        b"If-None-Match: " + b'"x",' * 5000 + b"\r\n", b"Accept-Encoding: gzip;q=nan\r\n",
        b"Range: bytes=-1--1\r\n",
    ]
    out = list(framing)
    for path in paths:
        for method in (b"GET", b"HEAD", b"TRACE", b"DELETE"):
            out.append(method + b" " + path.encode("latin-1") + b" HTTP/1.1\r\n" + host
                       + b"Connection: close\r\n\r\n")
    for extra in odd_headers:
        for path in ("/feeds/all.ics", "/", f"/u/{token}"):
            out.append(b"GET " + path.encode() + b" HTTP/1.1\r\n" + host + extra
                       + b"Connection: close\r\n\r\n")
    return out


def test_malformed_requests_get_no_5xx_and_change_nothing(site: Site) -> None:
    """Every hostile request gets a 4xx, a 2xx/3xx or a closed socket; never a 5xx; the
    subscriber whose link they hammer stays subscribed; the server keeps serving."""
    email = PEOPLE[1]
    requests = malformed(site.tokens[email])
    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(lambda data: raw(site.port, data), requests))
    codes = [int(m.group(1)) if (m := re.match(rb"HTTP/1\.[01] (\d{3})", a)) else 0
             for a in answers]
    errors = [(requests[i][:60], c) for i, c in enumerate(codes) if c >= 500]
    print(f"\nHTTP: {len(requests)} malformed requests, {len(errors)} 5xx, "
          f"{codes.count(0)} closed without an answer")
    assert len(requests) >= 139
    assert not errors
    assert still_subscribed(site, email)
    assert get(site.url + "/")[0] == 200


# ------------------------------------------------------------------ defect 6: slow clients

def closed_within(sockets: list[socket.socket], bound: float) -> float:
    """Seconds until the server closed every socket (each read returns EOF or a reset)."""
    start = time.monotonic()
    for s in sockets:
        s.settimeout(max(0.1, bound - (time.monotonic() - start)))
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass
        except TimeoutError:
            raise AssertionError(f"a connection was still open after {bound} s") from None
    return time.monotonic() - start


def test_idle_and_half_sent_connections_are_dropped_and_never_block_a_reader(
        site: Site) -> None:
    """200 slow connections (idle, half-sent headers, idle after a request, a half-sent second
    request): a normal request is served meanwhile, and the server closes all of them."""
    first = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    sockets = []
    for i in range(200):
        s = socket.create_connection(("127.0.0.1", site.port), timeout=10)
        kind = i % 4
        if kind == 1:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        elif kind >= 2:
            s.sendall(first)
            assert s.recv(4096).startswith(b"HTTP/1.1 200")
            if kind == 3:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        sockets.append(s)
    try:
        status, body = get(site.url + "/")
        assert status == 200 and "/feeds/all.ics" in body
        took = closed_within(sockets, 10.0)
    finally:
        for s in sockets:
            s.close()
    print(f"\nslow clients: 200 connections dropped within {took:.1f} s (timeouts 1 s)")
    assert get(site.url + "/healthz")[0] == 200


def test_beyond_the_connection_limit_a_client_gets_503_not_a_hang(tmp_path: Path) -> None:
    """MAX_CONNECTIONS idle sockets open: the next request is answered 503 at once; once they
    are dropped, 200 again."""
    proc, found = start_serve(tmp_path, header=30.0, idle=30, limit=40)
    try:
        held = [socket.create_connection(("127.0.0.1", found.port)) for _ in range(45)]
        try:
            assert get(found.url + "/healthz")[0] == 503
        finally:
            for s in held:
                s.close()
        deadline = time.monotonic() + 10
        while get(found.url + "/healthz")[0] != 200:
            assert time.monotonic() < deadline, "still 503 after the idle clients left"
            time.sleep(0.05)
    finally:
        stop_serve(proc)
