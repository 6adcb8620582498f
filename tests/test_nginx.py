"""The documented production set-up (contrib/nginx/tracker.conf): a real nginx from Debian's
packages serves the calendars folder directly and answers like `tracker serve` does for the
same built feeds; what it does not serve (filtered feeds, unknown feeds, pages) it passes to the
tracker."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.feedkit import AIF, BASE_URL, T1, T2, LiveServer, Reply, build, synced
from tests.nginxkit import nginx_binary, running_nginx
from tests.pg import free_port
from tests.servekit import as_built, fetch
from tracker.web.app import make_app
from tracker.web.feedfiles import FeedFolder

SAME = ("content-type", "etag", "last-modified", "vary", "content-encoding", "cache-control",
        "content-length")
FEEDS = ("all.ics", f"calls/{AIF}.ics", "tags/ai-act.ics")


def need_nginx() -> str:
    """The nginx executable, or skip (fail when CI is set: .ci/run installs it)."""
    binary = nginx_binary()
    if binary is None:
        reason = "nginx is not installed (Debian: apt-get install nginx)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {reason}")
        pytest.skip(reason)
    return binary


@dataclass
class Pair:
    """The tracker's own server and nginx in front of it, over the same folder."""

    tracker: int
    nginx: int
    out: Path

    def both(self, target: str, method: str = "GET", **headers: str) -> tuple[Reply, Reply]:
        sent = {k.replace("_", "-"): v for k, v in headers.items()}
        return (fetch(self.tracker, target, method, sent),
                fetch(self.nginx, target, method, sent))


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    need_nginx()
    store = synced(tmp_path)
    out = tmp_path / "calendars"
    build(store, out)
    as_built(out, T1)
    (tmp_path / "secret.ics").write_bytes(b"TOP SECRET")
    app = make_app(store, BASE_URL, now=lambda: T1, folder=FeedFolder(out))
    conf = tmp_path / "nginx"
    conf.mkdir()
    port = free_port()
    with LiveServer(app) as tracker, running_nginx(conf, port, out, tracker.port):
        yield Pair(tracker.port, port, out)
    store.close()


def same_headers(ours: Reply, theirs: Reply) -> None:
    assert ours.status == theirs.status
    for name in SAME:
        assert ours.headers.get(name) == theirs.headers.get(name), (name, ours.headers,
                                                                   theirs.headers)


def test_nginx_and_the_tracker_serve_a_feed_alike(pair: Pair) -> None:
    for feed in FEEDS:
        target = f"/feeds/{feed}"
        ours, theirs = pair.both(target)
        assert ours.status == 200 and ours.body == theirs.body == (pair.out / feed).read_bytes()
        same_headers(ours, theirs)
        assert ours.headers["content-type"] == "text/calendar; charset=utf-8"
        assert ours.headers["last-modified"] == format_datetime(T1, usegmt=True)
        assert "content-encoding" not in ours.headers
        assert ours.headers["vary"] == "Accept-Encoding"  # a gzip copy exists
        head = pair.both(target, "HEAD")
        same_headers(*head)
        assert head[0].body == head[1].body == b""


def test_nginx_and_the_tracker_agree_on_304(pair: Pair) -> None:
    first = pair.both("/feeds/all.ics")[0]
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    later, earlier = (format_datetime(t, usegmt=True) for t in (T2, T1.replace(day=14)))
    for headers, status in [({"If-None-Match": etag}, 304),
                            ({"If-None-Match": f'"other", {etag}'}, 304),
                            ({"If-None-Match": '"other"'}, 200),
                            ({"If-Modified-Since": modified}, 304),
                            ({"If-Modified-Since": later}, 304),
                            ({"If-Modified-Since": earlier}, 200)]:
        ours, theirs = pair.both("/feeds/all.ics", **headers)
        assert ours.status == theirs.status == status, headers
        same_headers(ours, theirs)
        assert ours.body == theirs.body


def test_nginx_and_the_tracker_send_the_same_gzip_copy(pair: Pair) -> None:
    for feed in FEEDS:
        ours, theirs = pair.both(f"/feeds/{feed}", Accept_Encoding="gzip, deflate")
        same_headers(ours, theirs)
        assert ours.headers["content-encoding"] == "gzip"
        assert ours.body == theirs.body == (pair.out / f"{feed}.gz").read_bytes()
        assert gzip.decompress(ours.body) == (pair.out / feed).read_bytes()
        tag = ours.headers["etag"]
        again = pair.both(f"/feeds/{feed}", Accept_Encoding="gzip", If_None_Match=tag)
        assert again[0].status == again[1].status == 304
        refused = pair.both(f"/feeds/{feed}", Accept_Encoding="gzip;q=0, identity")
        assert "content-encoding" not in refused[0].headers
        assert refused[0].body == (pair.out / feed).read_bytes()


def test_without_a_gzip_copy_both_serve_plain(pair: Pair) -> None:
    (pair.out / "all.ics.gz").unlink()  # what a builder without copies leaves
    ours, theirs = pair.both("/feeds/all.ics", Accept_Encoding="gzip")
    same_headers(ours, theirs)
    assert ours.body == theirs.body == (pair.out / "all.ics").read_bytes()
    assert "vary" not in ours.headers and "content-encoding" not in ours.headers


def test_nginx_passes_what_it_does_not_serve_to_the_tracker(pair: Pair) -> None:
    query = f"/feeds/all.ics?call={AIF}&kind=cutoff"
    ours, theirs = pair.both(query)
    assert ours.status == theirs.status == 200 and ours.body == theirs.body  # filtered
    for target in ("/feeds/nope.ics", "/feeds/calls/nope.ics", "/feeds/all.ics.gz",
                   "/feeds/index.json", "/feeds/../secret.ics", "/feeds/%2e%2e/secret.ics"):
        ours, theirs = pair.both(target)
        assert ours.status == theirs.status == 404, target
        assert b"TOP SECRET" not in theirs.body and BASE_URL in theirs.text, target
    page = pair.both("/")[1]
    assert page.status == 200 and "/feeds/all.ics" in page.text
