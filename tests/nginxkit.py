"""The documented nginx site (contrib/nginx/tracker.conf) made runnable on a loopback port by
anyone (no root, no system paths): for tests/test_nginx.py and the serving benchmark."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SITE = Path(__file__).resolve().parents[1] / "contrib" / "nginx" / "tracker.conf"
# what the documented site file names, and what a test or benchmark puts in its place
LISTEN, FOLDER, UPSTREAM = "listen 80;", "/srv/tracker/calendars/", "127.0.0.1:8080"
MAIN = """\
{user}worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  sendfile on; tcp_nopush on;  # as Debian's /etc/nginx/nginx.conf
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  include {tmp}/site.conf;
}}
"""


def nginx_binary() -> str | None:
    """Debian's nginx (/usr/sbin is not on every PATH), or None."""
    found = shutil.which("nginx")
    return found or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)


def nginx_config(tmp: Path, port: int, calendars: Path, upstream: int) -> list[str]:
    """The documented site (contrib/nginx/tracker.conf) on 127.0.0.1:`port`, serving
    `calendars` and passing the rest to the tracker on `upstream`, inside a main config of its
    own under `tmp` (no root needed); returns the nginx command line (it stays in front)."""
    site = SITE.read_text(encoding="utf-8")
    for placeholder in (LISTEN, FOLDER, UPSTREAM):
        assert placeholder in site, f"{SITE} no longer says {placeholder!r}"
    site = site.replace(LISTEN, f"listen 127.0.0.1:{port};").replace(FOLDER, f"{calendars}/")
    (tmp / "site.conf").write_text(site.replace(UPSTREAM, f"127.0.0.1:{upstream}"),
                                   encoding="utf-8")
    user = "user root;\n" if os.geteuid() == 0 else ""  # else workers run as this user
    (tmp / "nginx.conf").write_text(MAIN.format(user=user, tmp=tmp), encoding="utf-8")
    binary = nginx_binary()
    assert binary is not None
    return [binary, "-c", str(tmp / "nginx.conf"), "-p", str(tmp), "-e", str(tmp / "error.log")]


@contextmanager
def running_nginx(tmp: Path, port: int, calendars: Path, upstream: int) -> Iterator[None]:
    """nginx_config's nginx, from the moment it listens (it writes its pid file after opening
    its sockets) until it is stopped."""
    proc = subprocess.Popen(nginx_config(tmp, port, calendars, upstream),
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while not (tmp / "nginx.pid").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                log = tmp / "error.log"
                raise AssertionError("nginx did not start:\n" + (
                    log.read_text(errors="replace") if log.exists() else ""))
            time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        proc.wait(10)
