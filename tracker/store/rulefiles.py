"""What each rule file was when it was last synced: a sync reads and compares only the files
whose size, time or text changed since."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.store.engine import Store
from tracker.store.schema import rule_files, runtime_state
from tracker.store.state import SEEDS_LISTING as LISTING

CHUNK = 500  # rows per statement (SQLite caps the number of bound values)


@dataclass(frozen=True)
class RuleFile:
    """A rule file as synced: where it is (absolute), its stamp of size and time ('' when it
    was written too recently to be trusted), the digest of its text, the call it holds, and
    when its view next changes by itself (an announcement day; naive UTC)."""

    path: str
    stamp: str
    digest: str
    call_id: str
    valid_until: datetime | None = None


@dataclass(frozen=True)
class FileChanges:
    """Rule files to remember (written or re-stamped) and to forget (gone), applied in the
    transaction of the sync they belong to."""

    put: Sequence[RuleFile] = ()
    gone: Sequence[str] = ()
    everything: bool = False  # the sync read every file: forget any other file
    listing: str = ""  # the mark of the listing these files came from ('' = none to trust)


def load_rule_files(store: Store) -> dict[str, RuleFile]:
    """Every remembered rule file, by path."""
    with store.read() as conn:
        found = conn.execute(sa.select(rule_files.c.path, rule_files.c.stamp,
                                       rule_files.c.digest, rule_files.c.call_id,
                                       rule_files.c.valid_until)).all()
    return {row[0]: RuleFile(*row) for row in found}


def chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    """`items` in runs of CHUNK (an IN list per statement)."""
    return (items[i:i + CHUNK] for i in range(0, len(items), CHUNK))


def apply_file_changes(conn: Connection, changes: FileChanges) -> None:
    """Forget the gone files, then write the others' rows afresh."""
    if changes.everything:
        conn.execute(rule_files.delete())
    else:
        for part in chunks([*changes.gone, *(f.path for f in changes.put)]):
            conn.execute(rule_files.delete().where(rule_files.c.path.in_(part)))
    rows = [vars(f) for f in changes.put]
    for i in range(0, len(rows), CHUNK):
        conn.execute(rule_files.insert(), rows[i:i + CHUNK])
    conn.execute(runtime_state.delete().where(runtime_state.c.key == LISTING))
    if changes.listing:
        conn.execute(runtime_state.insert().values(key=LISTING, value=changes.listing,
                                                   updated_at=datetime(1970, 1, 1)))


def restamp(store: Store, changes: FileChanges) -> None:
    """Remember new stamps of files whose text did not change (touched, or checked out), and
    the listing they belong to."""
    with store.write() as conn:
        apply_file_changes(conn, changes)


def last_listing(store: Store) -> tuple[str, datetime | None]:
    """The mark of the listing the store was last synced with, and when the first remembered
    rule file's view changes by itself (naive UTC)."""
    with store.read() as conn:
        mark = conn.execute(sa.select(runtime_state.c.value)
                            .where(runtime_state.c.key == LISTING)).scalar()
        return str(mark or ""), earliest_valid_until(conn)


def earliest_valid_until(conn: Connection) -> datetime | None:
    """When the first remembered rule file's view changes by itself."""
    found: datetime | None = conn.execute(sa.select(sa.func.min(rule_files.c.valid_until))) \
        .scalar_one()
    return found
