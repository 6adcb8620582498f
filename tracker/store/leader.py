"""The scheduling role among several `tracker run` processes on one PostgreSQL database.

Whoever holds the process lock (a session advisory lock, on a connection kept for it alone)
leads: it syncs, builds feeds, imports and queues mail. The others only send. When the leader
dies its session ends and so does its lock; another process takes it at its next try (every
`every` seconds). A leader that loses its connection steps down at once. Should two ever
overlap for a moment (a connection lost while a job runs), nothing is done twice: every job does
"what is due and not yet done" under the database's own constraints.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.store.engine import PROCESS_LOCK_KEY, Store

log = logging.getLogger("tracker.run")


class Leadership:
    """Tries for the role every `every` seconds on a thread; `leading()` says who has it.
    `on_gain` runs (on that thread) each time this process takes the role."""

    def __init__(self, store: Store, on_gain: Callable[[], None] | None = None,
                 every: float = 2.0) -> None:
        self.store = store
        self.on_gain = on_gain
        self.every = every
        self.conn: Connection | None = None
        self._leading = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def leading(self) -> bool:
        """Whether this process holds the scheduling role now."""
        return self._leading.is_set()

    def poll(self) -> bool:
        """One round: take the role if it is free, or check that ours is still held."""
        try:
            if self.conn is None:
                self.conn = self.store.engine.connect()
            if self.leading():
                self.conn.execute(sa.text("SELECT 1"))
            else:
                got = bool(self.conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"),
                                             {"k": PROCESS_LOCK_KEY}).scalar())
                if got:
                    self._leading.set()
                    log.info("event=leader role=leading")
                    if self.on_gain is not None:
                        self.on_gain()
            self.conn.commit()
        except sa.exc.DBAPIError as exc:
            if self.leading():
                log.warning("event=leader role=following reason=%r", str(exc.orig))
            self._leading.clear()
            self._drop()
        return self.leading()

    def _drop(self) -> None:
        if self.conn is not None:
            self.conn.invalidate()  # closing the session ends its lock
            self.conn = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self.every)

    def start(self) -> None:
        """Keep trying for the role (or checking it) in the background."""
        self._thread = threading.Thread(target=self._loop, name="tracker-leader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Give the role up (another process takes it at its next try)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._leading.clear()
        self._drop()
