"""Runtime facts the daemon reports (heartbeat, next runs, last errors, import results), and
the names they are stored under: the keys below are the only spelling of them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa

from tracker.store.engine import Store
from tracker.store.schema import from_utc_naive, runtime_state, utc_naive

State = Mapping[str, tuple[str, datetime]]  # key -> (value, when it was written)

HEARTBEAT = "heartbeat"  # when the daemon last finished a job
SEEDS_LISTING = "seeds.listing"  # the mark of the rule-file listing last synced (refresh.py)


class Fact(StrEnum):
    """A family of facts, one per job or import source, stored as "<family>.<name>" (job and
    source names have no dot)."""

    NEXT = "next"  # next.<job>: when the job runs next (ISO instant; "" when not planned)
    LAST = "last"  # last.<job>: when the job last ran (ISO instant)
    ERROR = "error"  # error.<job>: the job's last error ("" once it ran well again)
    IMPORT = "import"  # import.<source>: "ok: ..." or "FAILED: ..." of its last import

    def key(self, name: str) -> str:
        """The key of `name`'s fact of this family."""
        return f"{self.value}.{name}"

    def values(self, state: State) -> dict[str, str]:
        """name -> value of every fact of this family in `state`."""
        prefix = f"{self.value}."
        return {k.removeprefix(prefix): v for k, (v, _) in state.items()
                if k.startswith(prefix) and "." not in k.removeprefix(prefix)}


def import_finished(source: str) -> str:
    """The key of when `source`'s last import finished (ISO instant)."""
    return f"{Fact.IMPORT.key(source)}.finished"


def import_job(source: str) -> str:
    """The job name under which an import source's next run is recorded (`Fact.NEXT`)."""
    return f"import-{source}"


def put_state(store: Store, values: dict[str, str], now: datetime) -> None:
    """Upsert runtime facts (heartbeat, next runs, last errors) reported by the scheduler."""
    stamp = utc_naive(now)
    with store.write() as conn:
        have = {r.key for r in conn.execute(sa.select(runtime_state.c.key)
                                            .where(runtime_state.c.key.in_(list(values))))}
        for key, value in values.items():
            if key in have:
                conn.execute(runtime_state.update().where(runtime_state.c.key == key)
                             .values(value=value, updated_at=stamp))
            else:
                conn.execute(runtime_state.insert().values(key=key, value=value,
                                                           updated_at=stamp))


def get_state(store: Store) -> dict[str, tuple[str, datetime]]:
    """Every runtime fact with when it was written."""
    with store.read() as conn:
        return {r.key: (r.value, from_utc_naive(r.updated_at))
                for r in conn.execute(sa.select(runtime_state).order_by(runtime_state.c.key))}
