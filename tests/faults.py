"""Run the tracker CLI with a fault injected from outside the product: `python -m tests.faults
SECONDS ARGS...` holds the first write transaction open for SECONDS before it commits (saying so
on stderr), so a test can kill the process mid-sync. Nothing in tracker/ knows about it."""

from __future__ import annotations

import sys
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

HELD = "holding the sync transaction open"


def hold_first_commit(seconds: float) -> None:
    """Before the first commit of any connection, pause `seconds` (once per process)."""
    done: list[bool] = []

    def before_commit(conn: Connection) -> None:
        writes: Any = conn.info.get("writes", 0)
        if done or not writes:
            return
        done.append(True)
        print(HELD, file=sys.stderr, flush=True)
        time.sleep(seconds)

    def count_writes(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            conn.info["writes"] = conn.info.get("writes", 0) + 1

    sa.event.listen(Engine, "commit", before_commit)
    sa.event.listen(Engine, "before_cursor_execute", count_writes)


if __name__ == "__main__":
    hold_first_commit(float(sys.argv[1]))
    sys.argv = ["tracker", *sys.argv[2:]]
    from tracker.cli import main

    main()
