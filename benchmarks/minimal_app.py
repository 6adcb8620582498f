"""The ceiling app: Starlette returning one file's bytes (200, or 304 on a matching ETag).

python -m benchmarks.minimal_app --port PORT  (BENCH_FILE names the file, read once at start)

It runs under the same uvicorn settings as `tracker serve` (tracker.web.serve: protocol,
limits, logging), so the two differ only in what the application does per request.
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    from tracker.web.serve import serve

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    serve(app, "127.0.0.1", parser.parse_args().port)


if __name__ == "__main__":
    main()
