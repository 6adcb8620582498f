"""Stand-in portal servers on 127.0.0.1 for the importer tests: they answer like the real APIs.

`FtPortal` pages real fixture records as the F&T search API does (multipart JSON parts,
totalResults, at most 100 a page, a 500 for a malformed request) and can fail or stall a page
once. `GrantsGov` answers search2 and fetchOpportunity from a list of opportunities.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FTPORTAL_DATA = Path(__file__).parent / "data" / "ftportal"


def ftportal_records() -> list[dict[str, Any]]:
    """The 53 real F&T search records of tests/data/ftportal (a fresh copy each time)."""
    rows: list[dict[str, Any]] = json.loads((FTPORTAL_DATA / "topics.json").read_text())[
        "results"]
    return rows


@dataclass
class FtPortal:
    """State of the F&T stand-in: its records, its faults, and the requests it saw."""

    records: list[dict[str, Any]]
    fail_once: set[int] = field(default_factory=set)  # pages answering 500 on the first try
    stall_once: set[int] = field(default_factory=set)  # pages that hang until retried
    down: bool = False
    seen: list[tuple[int, int]] = field(default_factory=list)  # (page, HTTP status)
    retried: dict[int, threading.Event] = field(default_factory=dict)
    url: str = ""

    def matches(self, record: dict[str, Any], query: dict[str, Any], text: str) -> bool:
        meta = record["metadata"]
        for clause in query["bool"]["must"]:
            for name, values in clause["terms"].items():
                if not set(meta.get(name) or []) & set(values):
                    return False
        if text and text != "***":
            words = " ".join([*meta.get("title", []), *meta.get("identifier", []),
                              *meta.get("keywords", [])]).lower()
            return text.lower() in words
        return True

    def answer(self, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        params = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
        page = int(params.get("pageNumber", "1"))
        if self.down:
            return 500, {"error": "Service Unavailable"}
        if page in self.fail_once:
            self.fail_once.discard(page)
            return 500, {"error": "Internal Server Error"}
        if page in self.stall_once:
            self.stall_once.discard(page)
            event = self.retried.setdefault(page, threading.Event())
            event.wait(30)  # released by the client's retry of this page
            return 500, {"error": "too late"}
        if page in self.retried:
            self.retried[page].set()
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {headers['Content-Type']}\r\n\r\n".encode() + body)
        parts = {p.get_param("name", header="content-disposition"): p
                 for p in message.iter_parts()} if message.is_multipart() else {}
        query_part = parts.get("query")
        if query_part is None or query_part.get_filename() is None:
            return 500, {"error": "query must be sent as an application/json file part"}
        payload = query_part.get_payload(decode=True)
        query = json.loads(payload if isinstance(payload, bytes) else str(payload))
        size = min(int(params.get("pageSize", "50")), 100)
        rows = [r for r in self.records if self.matches(r, query, params.get("text", "***"))]
        chunk = rows[(page - 1) * size: page * size]
        return 200, {"apiVersion": "2.151", "terms": params.get("text", "***"),
                     "totalResults": len(rows), "pageNumber": page, "pageSize": size,
                     "results": chunk}


@dataclass
class GrantsGov:
    """State of the Grants.gov stand-in: (search hit, fetchOpportunity data) per opportunity."""

    opportunities: list[tuple[dict[str, Any], dict[str, Any]]]
    down: bool = False
    seen: list[str] = field(default_factory=list)
    url: str = ""

    def answer(self, path: str, _headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        request = json.loads(body)
        self.seen.append(urlsplit(path).path)
        if self.down:
            return 503, {"errorcode": 1, "msg": "down"}
        if path.endswith("/search2"):
            statuses = set(str(request.get("oppStatuses", "")).split("|"))
            hits = [h for h, _ in self.opportunities if h["oppStatus"] in statuses]
            start, rows = int(request.get("startRecordNum", 0)), int(request.get("rows", 25))
            return 200, {"errorcode": 0, "msg": "Webservice Succeeds",
                         "data": {"hitCount": len(hits), "oppHits": hits[start:start + rows]}}
        if path.endswith("/fetchOpportunity"):
            for hit, detail in self.opportunities:
                if int(hit["id"]) == int(request["opportunityId"]):
                    return 200, {"errorcode": 0, "msg": "Webservice Succeeds", "data": detail}
            return 200, {"errorcode": 1, "msg": "No opportunity found"}
        return 404, {"error": "not found"}


@contextmanager
def serve(state: FtPortal | GrantsGov) -> Iterator[str]:
    """Run the stand-in on a free loopback port; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, payload = state.answer(self.path, self.headers, body)
            if isinstance(state, FtPortal):
                params = parse_qs(urlsplit(self.path).query)
                state.seen.append((int(params.get("pageNumber", ["1"])[0]), status))
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on a stalled page

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    state.url = base
    try:
        yield base
    finally:
        for event in getattr(state, "retried", {}).values():
            event.set()
        server.shutdown()
        server.server_close()


SYNOPSIS = """  <OpportunitySynopsisDetail_1_0>
    <OpportunityID>{id}</OpportunityID>
    <OpportunityTitle>Generated research opportunity {id}</OpportunityTitle>
    <OpportunityNumber>GEN-{id}</OpportunityNumber>
    <CFDANumbers>93.{cfda:03d}</CFDANumbers>
    <AgencyCode>HHS-NIH11</AgencyCode>
    <AgencyName>National Institutes of Health</AgencyName>
    <PostDate>11212026</PostDate>
    <CloseDate>{close}</CloseDate>
    <AwardCeiling>275000</AwardCeiling>
    <EstimatedTotalProgramFunding>5000000</EstimatedTotalProgramFunding>
    <Description>{text}</Description>
  </OpportunitySynopsisDetail_1_0>
"""


def write_extract(path: Path, records: int, description: int = 3000) -> None:
    """A generated Grants.gov extract: `records` synopses with long descriptions."""
    text = ("Lorem ipsum dolor sit amet, research and development. " * (description // 50 + 1))[
        :description]
    with path.open("w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                 '<Grants xmlns="http://apply.grants.gov/system/OpportunityDetail-V1.0">\n')
        for i in range(records):
            close = f"{1 + i % 12:02d}{1 + i % 28:02d}{2027 + i % 2}"
            fh.write(SYNOPSIS.format(id=100000 + i, cfda=i % 1000, close=close, text=text))
        fh.write("</Grants>\n")
