"""Static files (CSS, script) from tracker/web/static: read once, served with a strong ETag and
a year's caching, since their URLs carry a hash of their content (`url`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

FOLDER = Path(__file__).resolve().parent / "static"
TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".svg": "image/svg+xml"}


@dataclass(frozen=True)
class Asset:
    """One file's bytes and validator."""

    body: bytes
    etag: str
    media_type: str


@dataclass(frozen=True)
class Assets:
    """Every static file by name."""

    files: dict[str, Asset]

    @classmethod
    def load(cls, folder: Path = FOLDER) -> Assets:
        """Read the folder (only the file types we serve)."""
        files = {}
        for path in sorted(folder.iterdir()):
            if path.suffix in TYPES and path.is_file():
                body = path.read_bytes()
                files[path.name] = Asset(body, f'"{hashlib.sha256(body).hexdigest()[:24]}"',
                                         TYPES[path.suffix])
        return cls(files)

    def url(self, name: str) -> str:
        """'/static/app.css?v=<hash>': a new URL whenever the content changes."""
        return f"/static/{name}?v={self.files[name].etag.strip(chr(34))[:12]}"

    def serve(self, request: Request) -> Response:
        """200 or 304, cached for a year (the URL changes with the content)."""
        found = self.files.get(request.path_params["name"])
        if found is None:
            return PlainTextResponse("no such file\n", status_code=404)
        headers = {"ETag": found.etag, "Cache-Control": "public, max-age=31536000, immutable",
                   "X-Content-Type-Options": "nosniff"}
        match = request.headers.get("if-none-match", "")
        if found.etag in {t.strip().removeprefix("W/") for t in match.split(",")}:
            return Response(status_code=304, headers=headers)
        return Response(found.body, media_type=found.media_type, headers=headers)
