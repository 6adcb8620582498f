"""Runtime facts the daemon reports (heartbeat, next runs, last errors, import results)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from tracker.store.engine import Store
from tracker.store.schema import from_utc_naive, runtime_state, utc_naive


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
