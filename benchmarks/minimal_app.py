"""The ceiling app: Starlette returning one file's bytes (200, or 304 on a matching ETag).

uvicorn benchmarks.minimal_app:app  (BENCH_FILE names the file, read once at start)
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = Path(os.environ.get("BENCH_FILE", __file__)).read_bytes()
ETAG = f'"{hashlib.sha256(BODY).hexdigest()[:32]}"'


async def feed(request: Request) -> Response:
    headers = {"ETag": ETAG, "Cache-Control": "public, max-age=900"}
    if request.headers.get("if-none-match") == ETAG:
        return Response(status_code=304, headers=headers)
    return Response(BODY, media_type="text/calendar; charset=utf-8", headers=headers)


app = Starlette(routes=[Route("/feeds/{path:path}", feed)])
