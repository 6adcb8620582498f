"""Serving figures: `tracker serve` against nginx (the documented production set-up,
contrib/nginx/tracker.conf) and a minimal Starlette app under the same uvicorn settings, loaded
by wrk.

Loopback only; every load is bounded by a duration. Without wrk the figures are skipped with
a note; without nginx the nginx ceilings are.
"""

from __future__ import annotations

import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import PY, Row, Section
from tests.nginxkit import nginx_binary, nginx_config


@dataclass
class Load:
    """What one wrk run measured."""

    rps: float
    p99_ms: float
    codes: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=60) as r:
                r.read()
                return True
        except OSError:
            time.sleep(0.2)
    return False


@contextmanager
def process(cmd: Sequence[str], env: dict[str, str], cwd: Path, url: str,
            startup: float) -> Iterator[bool]:
    """A server subprocess; yields whether `url` answered; stopped by its own pid."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(list(cmd), env=env, cwd=cwd, stdout=log, stderr=log)
        try:
            yield wait_up(url, startup) if url else True
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wrk(url: str, seconds: float, headers: Sequence[str] = (), conns: int = 16) -> Load | None:
    """One bounded wrk run (1 thread, `conns` connections), with latency percentiles."""
    binary = shutil.which("wrk")
    if binary is None:
        return None
    cmd = [binary, "-t1", f"-c{conns}", f"-d{max(1, round(seconds))}s", "--latency",
           "--timeout", "10s"]
    for h in headers:
        cmd += ["-H", h]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=seconds + 60,
                         check=False).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return Load(float(rps.group(1)) if rps else 0.0,
                float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"),
                f"{bad.group(1)} non-2xx/3xx" if bad else "all 2xx/3xx")


def etag_of(url: str) -> str:
    with urllib.request.urlopen(url, timeout=60) as r:
        return str(r.headers.get("ETag", ""))


def _loads(base: str, path: str, seconds: float, big: bool) -> dict[str, Load | None]:
    url = f"{base}/feeds/{path}"
    out = {"200": wrk(url, seconds), "304": wrk(url, seconds, [f"If-None-Match: {etag_of(url)}"])}
    if big:
        out["all"] = wrk(f"{base}/feeds/all.ics", seconds, conns=4)
    return out


def _median(runs: list[Load | None]) -> Load | None:
    got = [r for r in runs if r is not None]
    if not got:
        return None
    return Load(statistics.median(r.rps for r in got), statistics.median(r.p99_ms for r in got),
                "; ".join(sorted({r.codes for r in got})))


def _servers(stack: ExitStack, s: Section, env: dict[str, str], work: Path, seeds: Path,
             feed: Path, startup: float) -> dict[str, str]:
    """tracker serve (it builds the feeds first), then the minimal app on the feed it built,
    then nginx with the documented site config in front of the tracker: name -> base URL."""
    path = f"{feed.parent.name}/{feed.name}"
    port = free_port()
    cmd = [PY, "-m", "tracker", "--seeds", str(seeds), "serve", "--port", str(port)]
    if not stack.enter_context(process(cmd, env, work, f"http://127.0.0.1:{port}/feeds/{path}",
                                       startup)):
        s.notes.append("serving: tracker serve did not answer in time; skipped")
        return {}
    bases = {"tracker": f"http://127.0.0.1:{port}"}
    mport = free_port()
    cmd = [PY, "-m", "benchmarks.minimal_app", "--port", str(mport)]
    if stack.enter_context(process(cmd, dict(env, BENCH_FILE=str(feed)), work,
                                   f"http://127.0.0.1:{mport}/feeds/{path}", 30)):
        bases["minimal"] = f"http://127.0.0.1:{mport}"
    if nginx_binary() is None:
        s.notes.append("serving: nginx is not installed; nginx ceilings skipped")
        return bases
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-nginx-")))
    nport = free_port()
    cmd = nginx_config(tmp, nport, feed.parent.parent, port)
    if stack.enter_context(process(cmd, env, work, f"http://127.0.0.1:{nport}/feeds/{path}", 15)):
        bases["nginx"] = f"http://127.0.0.1:{nport}"
    return bases


def serve_figures(s: Section, env: dict[str, str], work: Path, seeds: Path, calls: int,
                  seconds: float, startup: float, rounds: int = 3) -> None:
    """Per-call feed (~2 KB) 200/304 and all.ics 200: tracker vs minimal app vs nginx (the
    documented contrib/nginx/tracker.conf), all three running at once and loaded in turn,
    `rounds` times; each figure is the median over the rounds, so a load that drifts on a
    shared machine hits every server alike."""
    if shutil.which("wrk") is None:
        s.notes.append("serving: wrk is not installed; serving figures skipped")
        return
    cal = work / "calendars"
    per_call = sorted((p for p in (cal / "calls").glob("*.ics")),
                      key=lambda p: (abs(p.stat().st_size - 2048), p.name))
    if not per_call:
        s.notes.append("serving: no per-call feed was built; skipped")
        return
    runs: dict[str, dict[str, list[Load | None]]] = {}
    with ExitStack() as stack:
        bases = _servers(stack, s, env, work, seeds, per_call[0], startup)
        path = f"calls/{per_call[0].name}"  # the tracker may have rebuilt it: stat it now
        size, all_size = (cal / path).stat().st_size, (cal / "all.ics").stat().st_size
        for _ in range(rounds if bases else 0):
            for name, base in bases.items():
                for kind, load in _loads(base, path, seconds, name != "minimal").items():
                    runs.setdefault(name, {}).setdefault(kind, []).append(load)
    if "tracker" not in bases:
        return
    res = {name: {k: _median(v) for k, v in runs.get(name, {}).items()}
           for name in ("tracker", "minimal", "nginx")}
    _rows(s, res, calls, size, all_size, rounds)


def _fmt(load: Load | None) -> str:
    return "n/a" if load is None else f"{load.rps:.0f} req/s, p99 {load.p99_ms:.1f} ms"


def _rows(s: Section, res: dict[str, dict[str, Load | None]], calls: int, size: int,
          all_size: int, rounds: int) -> None:
    how = f"median of {rounds} rounds; wrk 1 thread"
    for code in ("200", "304"):
        t, m, n = res["tracker"].get(code), res["minimal"].get(code), res["nginx"].get(code)
        ratio = f"{100 * t.rps / m.rps:.0f}% of minimal app" if t and m and m.rps else "n/a"
        if t and n and n.rps:
            ratio += f", {100 * t.rps / n.rps:.0f}% of nginx"
        s.add(Row(f"serve per-call feed ({size} B), {code} ({calls} calls)", _fmt(t),
                  f"minimal app {_fmt(m)}; nginx {_fmt(n)}", ratio,
                  ">= 70% of minimal app, p99 <= 50 ms", None,
                  (t.codes if t else "") + f"; {how}, 16 connections"))
    t, n = res["tracker"].get("all"), res["nginx"].get("all")
    ratio = f"{100 * t.rps / n.rps:.1f}% of nginx" if t and n and n.rps else "n/a"
    s.add(Row(f"serve all.ics ({all_size / 1e6:.1f} MB), 200 ({calls} calls)", _fmt(t),
              f"nginx {_fmt(n)}", ratio, ">= 30% of nginx", None,
              (t.codes if t else "") + f"; {how}, 4 connections"))
