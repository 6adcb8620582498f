"""Feed folders as the feed builder leaves them, for the serving tests (tracker's own server and
nginx): each X.ics has its Last-Modified as mtime and a gzip copy X.ics.gz with the same mtime."""

from __future__ import annotations

import gzip
import http.client
import os
from datetime import datetime
from email.utils import formatdate
from pathlib import Path

from tests.feedkit import Reply, get


def as_built(folder: Path, modified: datetime) -> list[Path]:
    """Give every feed in `folder` the mtime `modified` and a gzip copy (written where missing
    or out of date); returns the feeds."""
    found = sorted(folder.rglob("*.ics"))
    stamp = modified.timestamp()
    for path in found:
        copy = path.with_name(path.name + ".gz")
        if not copy.exists() or gzip.decompress(copy.read_bytes()) != path.read_bytes():
            copy.write_bytes(gzip.compress(path.read_bytes(), mtime=0))
        for p in (path, copy):
            os.utime(p, (stamp, stamp))
    return found


def fetch(port: int, target: str, method: str = "GET",
          headers: dict[str, str] | None = None) -> Reply:
    """One request (GET as written, no normalisation; or HEAD), read whole."""
    if method == "GET":
        return get(port, target, headers)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, target, headers=headers or {})
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def http_date(path: Path) -> str:
    """A file's mtime as Last-Modified writes it."""
    return formatdate(int(path.stat().st_mtime), usegmt=True)


def nginx_etag(path: Path) -> str:
    """nginx's ETag of a file."""
    st = path.stat()
    return f'"{int(st.st_mtime):x}-{st.st_size:x}"'
