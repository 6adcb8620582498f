"""The HTTP server as a calendar app meets it: the real app under uvicorn on a loopback port,
spoken to over plain HTTP."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.feedkit import (
    AIF,
    BASE_URL,
    CUTOFF1,
    CUTOFF4,
    SEEDS,
    T1,
    T2,
    LiveServer,
    Reply,
    append,
    build,
    copy_seeds,
    events,
    get,
    parse,
    synced,
)
from tests.pg import free_port
from tests.runkit import spawn
from tests.servekit import as_built, fetch, http_date, nginx_etag
from tracker import store as db
from tracker import usecases
from tracker.calendar import feeds as feedset
from tracker.web.app import make_app
from tracker.web.feedfiles import FeedFolder

CALENDAR_TYPE = "text/calendar; charset=utf-8"
STRONG_ETAG = re.compile(r'^"[^"\s]+"$')
SYNC_T1_HTTP = "Wed, 15 Jan 2025 09:00:00 GMT"  # T1 as an HTTP date
SECRET = b"TOP SECRET, NOT A FEED"


@dataclass
class Live:
    """A running server and what it serves from."""

    port: int
    store: db.Store
    seeds: Path
    out: Path

    def get(self, target: str, **headers: str) -> Reply:
        return get(self.port, target, {k.replace("_", "-"): v for k, v in headers.items()})


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    seeds = copy_seeds(tmp_path)
    store = synced(tmp_path, seeds)
    (tmp_path / "secret.ics").write_bytes(SECRET)  # right next to the feed folder
    out = tmp_path / "out"
    build(store, out)  # what `tracker serve` serves is what `feeds build` writes
    as_built(out, T1)  # every feed's last change is the sync at T1
    folder = FeedFolder(out, store, BASE_URL, recheck=0.0,  # sees each sync at once
                        clock=lambda: feedset.EPOCH)  # as build(): "all" holds every event
    app = make_app(store, BASE_URL, now=lambda: T1, recheck=0.0, folder=folder)
    with LiveServer(app) as server:
        yield Live(server.port, store, seeds, out)
    store.close()


def test_feed_is_served_as_text_calendar_with_validators(live: Live) -> None:
    r = live.get("/feeds/all.ics")
    assert r.status == 200
    assert r.headers["content-type"] == CALENDAR_TYPE
    assert STRONG_ETAG.match(r.headers["etag"]), r.headers["etag"]  # strong: no W/
    assert r.headers["etag"] == nginx_etag(live.out / "all.ics")  # as nginx computes it
    assert r.headers["last-modified"] == SYNC_T1_HTTP  # the last change, i.e. the sync time
    assert "accept-encoding" in r.headers["vary"].lower()
    assert "content-encoding" not in r.headers
    assert r.body == (live.out / "all.ics").read_bytes()  # what `feeds build` wrote
    assert CUTOFF1 in events(parse(r.body))
    per_call = live.get(f"/feeds/calls/{AIF}.ics")
    assert per_call.status == 200 and per_call.headers["content-type"] == CALENDAR_TYPE
    assert set(events(parse(per_call.body))) < set(events(parse(r.body)))


def test_conditional_requests_get_304(live: Live) -> None:
    first = live.get("/feeds/all.ics")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    same = live.get("/feeds/all.ics", If_None_Match=etag)
    assert same.status == 304 and same.body == b""
    assert same.headers["etag"] == etag
    assert live.get("/feeds/all.ics", If_None_Match=f'"other", {etag}').status == 304
    assert live.get("/feeds/all.ics", If_None_Match='"something-else"').status == 200
    assert live.get("/feeds/all.ics", If_Modified_Since=modified).status == 304
    later = format_datetime(T2, usegmt=True)
    assert live.get("/feeds/all.ics", If_Modified_Since=later).status == 304
    earlier = format_datetime(T1.replace(day=14), usegmt=True)
    r = live.get("/feeds/all.ics", If_Modified_Since=earlier)
    assert r.status == 200 and r.body == first.body
    # If-None-Match decides when both are sent (RFC 9110 §13.2.2)
    r = live.get("/feeds/all.ics", If_None_Match='"stale"', If_Modified_Since=modified)
    assert r.status == 200


def test_gzip_only_when_asked(live: Live) -> None:
    plain = live.get("/feeds/all.ics")
    zipped = live.get("/feeds/all.ics", Accept_Encoding="gzip, deflate")
    assert zipped.status == 200
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["content-type"] == CALENDAR_TYPE
    assert "accept-encoding" in zipped.headers["vary"].lower()
    assert zipped.body == (live.out / "all.ics.gz").read_bytes()  # the copy built with it
    assert gzip.decompress(zipped.body) == plain.body
    assert len(zipped.body) < len(plain.body)
    # another representation, another strong ETag; each revalidates on its own
    assert zipped.headers["etag"] != plain.headers["etag"]
    assert STRONG_ETAG.match(zipped.headers["etag"])
    again = live.get("/feeds/all.ics", Accept_Encoding="gzip",
                     If_None_Match=zipped.headers["etag"])
    assert again.status == 304
    refused = live.get("/feeds/all.ics", Accept_Encoding="gzip;q=0, identity")
    assert "content-encoding" not in refused.headers and refused.body == plain.body


def test_filtered_feed(live: Live) -> None:
    r = live.get(f"/feeds/all.ics?kind=cutoff&call={AIF}")
    assert r.status == 200 and r.headers["content-type"] == CALENDAR_TYPE
    cal = parse(r.body)
    uids = set(events(cal))
    assert uids == {f"{AIF}/cutoff/{d}@grant-tracker" for d in
                    ("2024-11-04", "2025-02-04", "2025-05-04", "2025-08-04", "2025-11-04")}
    assert [z.value("TZID") for z in cal.sub("VTIMEZONE")] == ["Europe/Brussels"]
    assert cal.value("X-WR-CALNAME") == ("Grant deadlines: EuroHPC AI Factories calls for "
                                         "expression of interest, cut-offs")  # says what it holds
    # the feed names its public address, not the host or scheme the request came in on
    assert cal.value("URL") == f"{BASE_URL}/feeds/all.ics?kind=cutoff&call={AIF}"
    behind_proxy = live.get(f"/feeds/all.ics?kind=cutoff&call={AIF}", Host="10.0.0.5:8080")
    assert parse(behind_proxy.body).value("URL") == cal.value("URL")
    assert behind_proxy.body == r.body
    tagged = events(parse(live.get("/feeds/all.ics?tag=ai-act").body))
    assert tagged and all(u.startswith("eu-ai-policy/") for u in tagged)
    two = events(parse(live.get(f"/feeds/all.ics?call={AIF},eu-ai-policy").body))
    assert {u.split("/")[0] for u in two} == {AIF, "eu-ai-policy"}  # commas or repeats


def test_alarm_parameter_adds_valarms(live: Live) -> None:
    r = live.get(f"/feeds/calls/{AIF}.ics?alarm=7d&alarm=1d")
    assert r.status == 200
    for uid, ev in events(parse(r.body)).items():
        assert sorted(a.value("TRIGGER") for a in ev.sub("VALARM")) == ["-P1D", "-P7D"], uid
    assert b"VALARM" not in live.get(f"/feeds/calls/{AIF}.ics").body


@pytest.mark.parametrize(("query", "message"), [
    ("kind=deadline", "unknown kind 'deadline'"),
    ("call=no-such-call", "unknown call 'no-such-call'"),
    ("tag=no-such-tag", "unknown tag 'no-such-tag'"),
    ("colour=red", "unknown parameter 'colour'"),
    ("alarm=soon", "alarm: 'soon' is not a duration"),
])
def test_bad_filter_is_a_clear_400(live: Live, query: str, message: str) -> None:
    r = live.get(f"/feeds/all.ics?{query}")
    assert r.status == 400
    assert r.headers["content-type"].startswith("text/plain")
    assert message in r.text
    assert "BEGIN:VCALENDAR" not in r.text


def test_call_filter_outside_the_feed_is_a_400(live: Live) -> None:
    r = live.get(f"/feeds/calls/{AIF}.ics?call=eu-ai-policy")
    assert r.status == 400 and "excludes everything" in r.text


@pytest.mark.parametrize("target", ["/feeds/nope.ics", "/feeds/calls/nope.ics",
                                    "/feeds/all.ics.bak", "/feeds/all", "/feeds/"])
def test_unknown_feed_is_404(live: Live, target: str) -> None:
    r = live.get(target)
    assert r.status == 404
    assert "BEGIN:VCALENDAR" not in r.text
    assert BASE_URL in r.text  # points to the list of feeds


@pytest.mark.parametrize("target", [
    "/feeds/../pyproject.toml",
    "/feeds/%2e%2e/x.ics",
    "/feeds/calls/../../etc/passwd",
    "/feeds/../secret.ics",
    "/feeds/%2e%2e/secret.ics",
    "/feeds/..%2fsecret.ics",
    "/feeds/calls/..%2f..%2fsecret.ics",
    "/feeds/%2E%2E%2Fsecret.ics",
    "/feeds/calls%2f..%2f..%2fsecret.ics",
    "/feeds//etc/passwd",
    "/feeds/..\\secret.ics",
])
def test_path_tricks_never_leave_the_feed_folder(live: Live, target: str) -> None:
    r = live.get(target)
    assert 400 <= r.status < 500, (target, r.status)
    assert SECRET not in r.body
    assert b"root:" not in r.body and b"[project]" not in r.body
    assert b"BEGIN:VCALENDAR" not in r.body


def test_index_page_lists_feeds_and_upcoming_items(live: Live) -> None:
    r = live.get("/")
    assert r.status == 200 and r.headers["content-type"].startswith("text/html")
    index = json.loads((live.out / "index.json").read_text(encoding="utf-8"))
    assert len(index["feeds"]) >= 3
    for feed in index["feeds"]:
        assert feed["url"].startswith("https://")
        assert feed["webcal"] == "webcal://" + feed["url"].removeprefix("https://")
        assert f'href="{feed["url"]}"' in r.text
        assert f'href="{feed["webcal"]}"' in r.text
    # as of 15 Jan 2025: cut-off 2 (moved to 1 Feb) is coming; cut-off 1 (4 Nov 2024) is over
    assert "2025-02-01 17:00 CET" in r.text
    assert "2025-05-04 17:00 CEST" in r.text
    assert "2024-11-04 17:00" not in r.text
    assert "Nothing upcoming" not in r.text


def test_seed_change_refreshes_the_served_feed(live: Live) -> None:
    first = live.get("/feeds/all.ics")
    assert live.get("/feeds/all.ics", If_None_Match=first.headers["etag"]).status == 304
    append(live.seeds / "eurohpc-ai-factories.toml", """
[[amendments]]
action = "move"
announced = 2025-03-01
cutoff = 2025-08-04
to = 2025-08-11
""")
    assert usecases.sync(live.store, [live.seeds], T2).wrote
    after = live.get("/feeds/all.ics", If_None_Match=first.headers["etag"])
    assert after.status == 200
    assert after.headers["etag"] != first.headers["etag"]
    assert after.headers["last-modified"] == http_date(live.out / "all.ics")
    moved = events(parse(after.body))[CUTOFF4]
    assert moved.value("DTSTART") == "20250811T170000"
    assert moved.value("SEQUENCE") == "1"
    assert (live.out / "all.ics").read_bytes() == after.body  # the server rebuilt its folder
    assert live.get("/feeds/all.ics", If_None_Match=after.headers["etag"]).status == 304
    # a gzip copy left from the older build (another mtime) is never sent for the new feed
    zipped = live.get("/feeds/all.ics", Accept_Encoding="gzip")
    if "content-encoding" in zipped.headers:
        assert gzip.decompress(zipped.body) == after.body
    else:
        assert zipped.body == after.body


def test_large_feed_is_streamed_whole_and_head_sends_no_body(tmp_path: Path) -> None:
    folder = tmp_path / "calendars"
    folder.mkdir()
    body = b"".join(b"X-LINE:%07d\r\n" % i for i in range(300_000))  # 4.5 MB, no gzip copy
    (folder / "all.ics").write_bytes(body)
    store = synced(tmp_path)
    with LiveServer(make_app(store, BASE_URL, folder=FeedFolder(folder))) as server:
        r = fetch(server.port, "/feeds/all.ics", headers={"Accept-Encoding": "gzip"})
        assert r.status == 200 and r.body == body
        assert r.headers["content-length"] == str(len(body))
        assert r.headers["etag"] == nginx_etag(folder / "all.ics")
        assert "vary" not in r.headers and "content-encoding" not in r.headers  # no copy
        head = fetch(server.port, "/feeds/all.ics", "HEAD")
        assert head.status == 200 and head.body == b""
        assert {k: v for k, v in head.headers.items() if k != "date"} == \
            {k: v for k, v in r.headers.items() if k != "date"}
        again = fetch(server.port, "/feeds/all.ics", headers={"If-None-Match": r.headers["etag"]})
        assert again.status == 304 and again.body == b""
        assert fetch(server.port, "/feeds/milestones.ics").status == 404  # not built here
    store.close()


def test_a_feed_replaced_by_another_process_is_served_whole(tmp_path: Path) -> None:
    """`tracker run --serve`: the scheduler rebuilds the folder; the server never mixes the
    headers of one build with the bytes of another."""
    folder = tmp_path / "calendars"
    (folder / "calls").mkdir(parents=True)
    small, big = folder / "calls" / "x.ics", folder / "all.ics"
    store = synced(tmp_path)
    fresh = FeedFolder(folder, recheck=0.0)  # looks at the files on every request
    kept = FeedFolder(folder, recheck=3600.0)  # keeps what it saw, except a streamed body
    for n, text in enumerate((b"FIRST", b"SECOND")):
        small.write_bytes(text * 100)
        big.write_bytes(text * 1_000_000)
        for p in (small, big):
            os.utime(p, (1_700_000_000 + n, 1_700_000_000 + n))
        with LiveServer(make_app(store, BASE_URL, folder=fresh)) as a, \
                LiveServer(make_app(store, BASE_URL, folder=kept)) as b:
            r = fetch(a.port, "/feeds/calls/x.ics")
            assert r.body == small.read_bytes() and r.headers["etag"] == nginx_etag(small)
            for port in (a.port, b.port):
                r = fetch(port, "/feeds/all.ics")
                assert r.body == big.read_bytes() and r.headers["etag"] == nginx_etag(big)
    store.close()


@pytest.mark.parametrize("command", [["serve"], ["run", "--serve", "--sync-every", "1h"]])
def test_the_commands_serve_the_calendars_folder(tmp_path: Path, command: list[str]) -> None:
    """`tracker serve` builds the feeds into its 'calendars' folder before it listens;
    `tracker run --serve` serves what its scheduler builds there."""
    calendars = tmp_path / "calendars"
    port = free_port()
    env = {"TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
           "TRACKER_CALENDARS": str(calendars), "TRACKER_BASE_URL": BASE_URL,
           "TRACKER_MAILDIR": str(tmp_path / "maildir")}
    proc = spawn(env, "--seeds", str(SEEDS), *command, "--port", str(port))
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            with contextlib.suppress(OSError):  # not listening yet
                r = fetch(port, f"/feeds/calls/{AIF}.ics")  # 'all' keeps 30 days of past
                if r.status == 200 and CUTOFF1 in events(parse(r.body)):  # built after the sync
                    break
            assert time.monotonic() < deadline, "no feed within 60 s"
            time.sleep(0.2)
        assert r.body == (calendars / "calls" / f"{AIF}.ics").read_bytes()
        assert r.headers["etag"] == nginx_etag(calendars / "calls" / f"{AIF}.ics")
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
