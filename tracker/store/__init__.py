"""The store: the only package that imports SQLAlchemy.

`engine` (opening, locks, migrations), `schema` (tables), `rows` (objects <-> rows), `sync`
(rules into the store, with history), `queries` (reads for listings, feeds and digests),
`subscribers` and `outbox` (mail), `state` (what the daemon reports).
"""

from __future__ import annotations

from tracker.store.engine import Store, current_revision, head_revision, make_engine, open_store
from tracker.store.engine import upgrade as upgrade
from tracker.store.queries import (
    CallRecord,
    Window,
    call_names,
    changes_since,
    counts,
    history,
    last_changes,
    last_sync,
    load_calls,
    load_occurrences,
    occurrence_state,
    orphaned,
    revision_map,
    revision_mark,
    state_token,
    stored_rules,
)
from tracker.store.sync import SyncReport, sync

__all__ = [
    "CallRecord", "Store", "SyncReport", "Window", "call_names", "changes_since", "counts",
    "current_revision", "head_revision", "history", "last_changes", "last_sync",
    "load_calls", "load_occurrences", "make_engine", "occurrence_state", "open_store",
    "orphaned",
    "revision_map", "revision_mark", "state_token", "stored_rules", "sync", "upgrade",
]
