"""Running the web app: uvicorn with limits against slow and idle clients, and a clean stop.

Limits (documented in the README): a client has HEADER_TIMEOUT seconds to send its request
headers, an idle keep-alive connection is closed after IDLE_TIMEOUT seconds, and at most
MAX_CONNECTIONS are served at once (more get 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT = 10.0
IDLE_TIMEOUT = 5
MAX_CONNECTIONS = 500


class _Protocol(H11Protocol):
    """h11 with a deadline for each request's headers (uvicorn has none): from the connection's
    start, and from the first byte of every later request on a kept-alive connection."""

    _deadline: asyncio.TimerHandle | None = None
    _waiting_after: object = None  # the request cycle that was current when the clock started

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the header deadline with the connection."""
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        """Bytes between two requests start the next request's header deadline."""
        before = self.cycle
        super().data_received(data)
        if self.cycle is not before:  # a request's headers are complete: its clock stops
            self._disarm()
        elif before is not None and before.response_complete and \
                (self._deadline is None or self._waiting_after is not before):
            self._arm()  # the first bytes of the next request on a kept-alive connection

    def connection_lost(self, exc: Exception | None) -> None:
        """No deadline outlives its connection."""
        self._disarm()
        super().connection_lost(exc)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _arm(self) -> None:
        self._disarm()
        self._waiting_after = self.cycle
        self._deadline = self.loop.call_later(HEADER_TIMEOUT, self._header_deadline)

    def _header_deadline(self) -> None:
        self._deadline = None
        if self.cycle is self._waiting_after and not self.transport.is_closing():
            self.transport.close()  # no complete request headers within HEADER_TIMEOUT


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the caller decides what a stop means."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Signals are handled by `serve`."""
        yield


def config(app: Starlette, host: str, port: int) -> uvicorn.Config:
    """The server settings, limits included."""
    return uvicorn.Config(app, host=host, port=port, log_level="info", server_header=False,
                          http=_Protocol, timeout_keep_alive=IDLE_TIMEOUT,
                          limit_concurrency=MAX_CONNECTIONS, lifespan="off")


def serve(app: Starlette, host: str, port: int,
          on_stop: Callable[[], None] | None = None,
          stopping: threading.Event | None = None) -> None:
    """Serve until SIGTERM or SIGINT (or `stopping` was already set); then stop taking
    requests, call `on_stop`, return."""
    server = _Server(config(app, host, port))
    stopping = stopping or threading.Event()

    def stop(_signum: int, _frame: Any) -> None:
        stopping.set()
        server.should_exit = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        if not stopping.is_set():  # a stop asked for during start-up: do not start at all
            server.run()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if on_stop is not None:
            on_stop()
