"""Serving figures: `tracker serve` against nginx and a minimal Starlette app, loaded by wrk.

Loopback only; every load is bounded by a duration. Without wrk the figures are skipped with
a note; without nginx the nginx ceilings are.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import PY, Row, Section

NGINX_CONF = """\
{user}worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  types {{ text/calendar ics; }}
  etag on;
  server {{
    listen 127.0.0.1:{port};
    location /feeds/ {{ alias {root}/; }}
  }}
}}
"""


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


def nginx_cmd(root: Path, port: int) -> tuple[list[str], Path] | None:
    """nginx on 127.0.0.1:port serving `root` under /feeds/, with its own config."""
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                        else None)
    if binary is None:
        return None
    tmp = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    user = "user root;\n" if os.geteuid() == 0 else ""
    (tmp / "nginx.conf").write_text(NGINX_CONF.format(user=user, tmp=tmp, port=port,
                                                      root=root))
    return [binary, "-c", str(tmp / "nginx.conf"), "-p", str(tmp), "-g", "daemon off;"], tmp


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


def _measure(base: str, path: str, seconds: float) -> dict[str, Load | None]:
    url = f"{base}/feeds/{path}"
    tag = etag_of(url)
    return {"200": wrk(url, seconds), "304": wrk(url, seconds, [f"If-None-Match: {tag}"])}


def serve_figures(s: Section, env: dict[str, str], work: Path, seeds: Path, calls: int,
                  seconds: float, startup: float) -> None:
    """Per-call feed (~2 KB) 200/304 and all.ics 200: tracker vs minimal app vs nginx."""
    if shutil.which("wrk") is None:
        s.notes.append("serving: wrk is not installed; serving figures skipped")
        return
    cal = work / "calendars"
    per_call = sorted((p for p in (cal / "calls").glob("*.ics")),
                      key=lambda p: (abs(p.stat().st_size - 2048), p.name))
    if not per_call:
        s.notes.append("serving: no per-call feed was built; skipped")
        return
    feed = per_call[0]
    path = f"calls/{feed.name}"
    size = feed.stat().st_size
    results: dict[str, dict[str, Load | None]] = {}
    port = free_port()
    cmd = [PY, "-m", "tracker", "--seeds", str(seeds), "serve", "--port", str(port)]
    with process(cmd, env, work, f"http://127.0.0.1:{port}/feeds/{path}", startup) as up:
        if not up:
            s.notes.append("serving: tracker serve did not answer in time; skipped")
            return
        results["tracker"] = _measure(f"http://127.0.0.1:{port}", path, seconds)
        results["tracker"]["all"] = wrk(f"http://127.0.0.1:{port}/feeds/all.ics", seconds,
                                        conns=4)
    # served files may have been rebuilt by the server: read them now
    port = free_port()
    menv = dict(env, BENCH_FILE=str(cal / path))
    cmd = [PY, "-m", "uvicorn", "benchmarks.minimal_app:app", "--host", "127.0.0.1",
           "--port", str(port), "--log-level", "warning"]
    with process(cmd, menv, work, f"http://127.0.0.1:{port}/feeds/{path}", 30) as up:
        results["minimal"] = _measure(f"http://127.0.0.1:{port}", path, seconds) if up else {}
    port = free_port()
    found = nginx_cmd(cal, port)
    if found is None:
        s.notes.append("serving: nginx is not installed; nginx ceilings skipped")
        results["nginx"] = {}
    else:
        with process(found[0], env, work, f"http://127.0.0.1:{port}/feeds/{path}", 15) as up:
            results["nginx"] = _measure(f"http://127.0.0.1:{port}", path, seconds) if up else {}
            results["nginx"]["all"] = wrk(f"http://127.0.0.1:{port}/feeds/all.ics", seconds,
                                          conns=4) if up else None
        shutil.rmtree(found[1], ignore_errors=True)
    _rows(s, results, calls, size, (cal / "all.ics").stat().st_size)


def _fmt(load: Load | None) -> str:
    return "n/a" if load is None else f"{load.rps:.0f} req/s, p99 {load.p99_ms:.1f} ms"


def _rows(s: Section, res: dict[str, dict[str, Load | None]], calls: int, size: int,
          all_size: int) -> None:
    for code in ("200", "304"):
        t, m, n = res["tracker"].get(code), res["minimal"].get(code), res["nginx"].get(code)
        ratio = f"{100 * t.rps / m.rps:.0f}% of minimal app" if t and m and m.rps else "n/a"
        if t and n and n.rps:
            ratio += f", {100 * t.rps / n.rps:.0f}% of nginx"
        s.add(Row(f"serve per-call feed ({size} B), {code} ({calls} calls)", _fmt(t),
                  f"minimal app {_fmt(m)}; nginx {_fmt(n)}", ratio,
                  ">= 70% of minimal app, p99 <= 50 ms", None,
                  (t.codes if t else "") + "; wrk 1 thread, 16 connections"))
    t, n = res["tracker"].get("all"), res["nginx"].get("all")
    ratio = f"{100 * t.rps / n.rps:.1f}% of nginx" if t and n and n.rps else "n/a"
    s.add(Row(f"serve all.ics ({all_size / 1e6:.1f} MB), 200 ({calls} calls)", _fmt(t),
              f"nginx {_fmt(n)}", ratio, ">= 30% of nginx", None,
              (t.codes if t else "") + "; wrk 1 thread, 4 connections"))
