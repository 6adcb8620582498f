"""Helpers for the feed, server and interop tests: stores from seeds, the byte-level iCalendar
reader (tests.icskit, re-exported), the independent parsers (ical.js through Node, vobject in a
fresh process), a Radicale CalDAV server and the tracker's own HTTP server on loopback."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.icskit import Comp, Prop, calendar_objects, events, parse, physical_lines, read, unfold
from tests.pg import free_port
from tests.smtpkit import live_app
from tracker import store as db
from tracker import usecases
from tracker.calendar import feeds as feedset
from tracker.calendar.files import WriteReport

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
JS = ROOT / "tests" / "js"
BASE_URL = "https://grants.example.org"

# The moment the bundled seeds are synced in most tests: after the 10 Dec 2024 amendment that
# moves cut-off 2 of the AI Factories to 1 Feb 2025, before anything announced in 2025.
T1 = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
T2 = datetime(2025, 3, 2, 9, 0, tzinfo=UTC)  # a later sync, after an edit of the seeds

AIF = "ai-factories"
CUTOFF1 = "ai-factories/cutoff/2024-11-04@grant-tracker"
CUTOFF3 = "ai-factories/cutoff/2025-05-04@grant-tracker"
CUTOFF4 = "ai-factories/cutoff/2025-08-04@grant-tracker"
CUTOFF5 = "ai-factories/cutoff/2025-11-04@grant-tracker"
WORK_PROGRAMME = "ai-factories/milestone/work-programme-amended@grant-tracker"


def utc(*parts: int) -> datetime:
    """An aware UTC instant: utc(2024, 11, 4, 16)."""
    return datetime(*parts).replace(tzinfo=UTC)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- stores, seeds

def copy_seeds(tmp_path: Path) -> Path:
    """A private copy of the bundled seeds, free to edit."""
    folder = tmp_path / "seeds"
    shutil.copytree(SEEDS, folder)
    return folder


def open_store(tmp_path: Path, name: str = "t.db") -> db.Store:
    """A real SQLite file under tmp_path, as TRACKER_DATABASE_URL would name it."""
    return db.open_store(f"sqlite:///{tmp_path}/{name}")


def synced(tmp_path: Path, seeds: Path = SEEDS, now: datetime = T1,
           name: str = "t.db") -> db.Store:
    """A fresh store with `seeds` synced at `now`."""
    store = open_store(tmp_path, name)
    report = usecases.sync(store, [seeds], now)
    assert report.wrote and report.added > 0
    return store


def build(store: db.Store, out: Path, now: datetime = feedset.EPOCH) -> WriteReport:
    """`tracker feeds build` into `out`, with the test base URL, at `now` (by default a day
    before any event, so that "all" holds every event too)."""
    return feedset.build(store, out, BASE_URL, now)


def append(path: Path, text: str) -> None:
    """Add TOML to the end of a rule file."""
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n" + text.strip() + "\n")


# Rule files in zones far from Brussels: the VTIMEZONE writer must be general.
WORLD_RULES = {
    "us-example.toml": """
id = "us-example"
title = "US example call"
funder = "Example Foundation"
programmes = ["Example Programme"]
tags = ["world"]
timezone = "America/New_York"
deadline_time = 17:00:00
opens = 2025-01-01
closes = 2025-12-31
submission = "multiple-cutoff"

[cutoffs]
# winter, the day DST starts (2 am), summer, the day DST ends (2 am)
dates = [2025-01-15, 2025-03-09, 2025-07-15, 2025-11-02]
""",
    "au-example.toml": """
id = "au-example"
title = "Australian example call"
tags = ["world"]
timezone = "Australia/Sydney"
deadline_time = 17:00:00
opens = 2025-01-01
closes = 2025-12-31

[cutoffs]
dates = [2025-01-15, 2025-07-15]
""",
    "in-example.toml": """
id = "in-example"
title = "Indian example call"
tags = ["world"]
timezone = "Asia/Kolkata"
deadline_time = 17:00:00
opens = 2025-01-01
closes = 2025-12-31

[cutoffs]
dates = [2025-06-15]
""",
    # Brazil dropped DST in 2019: the zone's yearly rules stop inside the feed's range.
    "br-example.toml": """
id = "br-example"
title = "Brazilian example call"
tags = ["world"]
timezone = "America/Sao_Paulo"
deadline_time = 17:00:00
opens = 2018-01-01
closes = 2020-12-31

[cutoffs]
dates = [2018-01-15, 2020-01-15]
""",
    # The US moved its DST dates in 2007: no single yearly rule covers 2006-2008.
    "us-2007.toml": """
id = "us-2007"
title = "US call across the 2007 DST change"
tags = ["world"]
timezone = "America/New_York"
deadline_time = 17:00:00
opens = 2006-01-01
closes = 2008-12-31

[cutoffs]
dates = [2006-10-31, 2007-03-20, 2007-11-02]
""",
}

# What those cut-offs are in UTC, from the zones' published rules (not from the program).
WORLD_INSTANTS = {
    # New York: EST = UTC-5, EDT = UTC-4; since 2007 DST runs from the 2nd Sunday of March to
    # the 1st Sunday of November.
    "us-example/cutoff/2025-01-15@grant-tracker": "2025-01-15T22:00:00Z",
    "us-example/cutoff/2025-03-09@grant-tracker": "2025-03-09T21:00:00Z",
    "us-example/cutoff/2025-07-15@grant-tracker": "2025-07-15T21:00:00Z",
    "us-example/cutoff/2025-11-02@grant-tracker": "2025-11-02T22:00:00Z",
    "us-example/closing@grant-tracker": "2025-12-31T22:00:00Z",
    # Sydney: AEDT = UTC+11 in the southern summer, AEST = UTC+10 in July.
    "au-example/cutoff/2025-01-15@grant-tracker": "2025-01-15T06:00:00Z",
    "au-example/cutoff/2025-07-15@grant-tracker": "2025-07-15T07:00:00Z",
    # Kolkata: IST = UTC+5:30, no DST.
    "in-example/cutoff/2025-06-15@grant-tracker": "2025-06-15T11:30:00Z",
    # Sao Paulo: BRST = UTC-2 in the 2017-18 DST season (15 Oct 2017 - 18 Feb 2018); no DST
    # since 2019, BRT = UTC-3 all year.
    "br-example/cutoff/2018-01-15@grant-tracker": "2018-01-15T19:00:00Z",
    "br-example/cutoff/2020-01-15@grant-tracker": "2020-01-15T20:00:00Z",
    # Before 2007, US DST ended on the last Sunday of October (29 Oct 2006) and began on the
    # 1st Sunday of April; from 2007 it begins 11 Mar 2007 and ends 4 Nov 2007.
    "us-2007/cutoff/2006-10-31@grant-tracker": "2006-10-31T22:00:00Z",
    "us-2007/cutoff/2007-03-20@grant-tracker": "2007-03-20T21:00:00Z",
    "us-2007/cutoff/2007-11-02@grant-tracker": "2007-11-02T21:00:00Z",
}

# The bundled AI Factories cut-offs: 17:00 Brussels, CET (UTC+1) in winter, CEST (UTC+2) from
# the last Sunday of March to the last Sunday of October.
AIF_INSTANTS = {
    CUTOFF1: "2024-11-04T16:00:00Z",
    "ai-factories/cutoff/2025-02-04@grant-tracker": "2025-02-01T16:00:00Z",  # moved to 1 Feb
    CUTOFF3: "2025-05-04T15:00:00Z",
    CUTOFF4: "2025-08-04T15:00:00Z",
    CUTOFF5: "2025-11-04T16:00:00Z",
    "ai-factories/closing@grant-tracker": "2025-12-31T16:00:00Z",
}


def world_seeds(tmp_path: Path) -> Path:
    """A seeds folder holding only WORLD_RULES."""
    folder = tmp_path / "world"
    folder.mkdir()
    for name, text in WORLD_RULES.items():
        (folder / name).write_text(text.lstrip(), encoding="utf-8")
    return folder


# ----------------------------------------------------------------------------- byte-level reader



# ----------------------------------------------------------------------------- other parsers

def need_node_harness() -> str:
    """The node executable, or skip (fail when CI is set) with what is missing."""
    node = shutil.which("node")
    reason = ""
    if node is None:
        reason = "node is not installed (the ical.js checks need Node 20+)"
    elif not (JS / "node_modules" / "ical.js" / "package.json").is_file():
        reason = "tests/js/node_modules is missing: run `npm ci --prefix tests/js`"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {reason}")
        pytest.skip(reason)
    assert node is not None
    return node


def ical_js(path: Path) -> dict[str, dict[str, Any]]:
    """What ical.js (Thunderbird's parser) reads from a file: uid -> start_utc, is_date, date,
    zone, status, sequence, summary. Run in a non-UTC, non-European zone on purpose."""
    node = need_node_harness()
    env = {**os.environ, "TZ": "Asia/Tokyo"}
    proc = subprocess.run([node, str(JS / "parse.mjs"), str(path)], capture_output=True,
                          text=True, timeout=30, env=env, check=False)
    assert proc.returncode == 0, f"ical.js could not read {path.name}:\n{proc.stderr}"
    data = json.loads(proc.stdout)
    assert isinstance(data, dict)
    return data


_VOBJECT = r"""
import datetime, json, sys, vobject
cal = vobject.readOne(open(sys.argv[1], encoding="utf-8").read())
out = {}
for ev in cal.vevent_list:
    start = ev.dtstart.value
    if isinstance(start, datetime.datetime):
        tz = type(start.tzinfo)
        out[ev.uid.value] = {
            "start_utc": start.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "is_date": False, "tzinfo": tz.__module__ + "." + tz.__name__}
    else:
        out[ev.uid.value] = {"start_utc": None, "is_date": True, "date": start.isoformat()}
print(json.dumps(out))
"""


def vobject_read(path: Path) -> dict[str, dict[str, Any]]:
    """What vobject reads, in a fresh process: vobject keeps the first VTIMEZONE it sees per
    TZID for the life of the process, which would hide a wrong zone in a later feed."""
    proc = subprocess.run([sys.executable, "-c", _VOBJECT, str(path)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, f"vobject could not read {path.name}:\n{proc.stderr}"
    data = json.loads(proc.stdout)
    assert isinstance(data, dict)
    return data


# ----------------------------------------------------------------------------- servers

def _wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"radicale exited with {proc.returncode}:\n"
                                 f"{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"radicale did not listen on {port}:\n{log.read_text(errors='replace')}")


@contextmanager
def radicale(folder: Path) -> Iterator[str]:
    """A Radicale CalDAV server on loopback with fresh storage (no config file, no auth);
    yields its base URL and stops it afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "radicale.log"
    env = {k: v for k, v in os.environ.items() if k != "RADICALE_CONFIG"}
    for _ in range(3):  # a port taken between free_port() and bind: try another
        port = free_port()
        argv = [sys.executable, "-m", "radicale", "--config",
                "--server-hosts", f"127.0.0.1:{port}",
                "--storage-filesystem-folder", str(folder / "storage"),
                "--auth-type", "none", "--logging-level", "warning"]
        with log.open("wb") as fh:
            proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, env=env)
        try:
            try:
                _wait_listening(port, proc, log, 15)
            except AssertionError:
                if proc.poll() is not None and b"in use" in log.read_bytes():
                    continue
                raise
            yield f"http://127.0.0.1:{port}/"
            return
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
    raise AssertionError("no free port for radicale")


class LiveServer:
    """The tracker's ASGI app served by a real uvicorn on a loopback port (tests.smtpkit)."""

    def __init__(self, app: Any) -> None:
        self.running = live_app(app)
        self.port = 0

    def __enter__(self) -> LiveServer:
        self.port = int(self.running.__enter__().rsplit(":", 1)[1])
        return self

    def __exit__(self, *exc: object) -> None:
        self.running.__exit__(None, None, None)


@dataclass
class Reply:
    """An HTTP response, read whole."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        """The body as UTF-8 text."""
        return self.body.decode("utf-8", errors="replace")


def get(port: int, target: str, headers: dict[str, str] | None = None) -> Reply:
    """GET `target` exactly as written (no normalisation of '..' or escapes)."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = headers or {}
        conn.putrequest("GET", target, skip_host=any(k.lower() == "host" for k in headers),
                        skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


__all__ = ["Comp", "Prop", "calendar_objects", "events", "free_port", "parse", "physical_lines",
           "read", "unfold"]
