"""A sender's claims on outbox rows: a batch claimed in one transaction, settled in one.

Any number of senders may drain one PostgreSQL outbox: a claim takes due rows with
`FOR UPDATE SKIP LOCKED`, marks them 'sending' and, in the same transaction, takes a session
advisory lock per row on the sender's own connection. That lock is the claim's lease, and it
lasts exactly as long as the sender's session: a sender that dies (or loses its connection)
loses its locks, the next claim by anyone puts its rows back ('sending' without a lock), and
they go out again with the same Message-ID; a sender's settle touches only rows whose lock it
still holds. A live sender is never robbed (each send is bounded by the SMTP timeout). On
SQLite only one process sends (the file lock of `Store.exclusive`), so it puts every row left
'sending' back when it starts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracker.models import OutboxState
from tracker.store.engine import Store
from tracker.store.outbox import OutboxRow, as_row
from tracker.store.schema import outbox, utc_naive

PENDING, SENDING, SENT, FAILED = (OutboxState.PENDING, OutboxState.SENDING, OutboxState.SENT,
                                  OutboxState.FAILED)
ROW_LOCKS = 0x6F75_7462  # 'outb': first key of the (class, row id) advisory locks
_LOCKED = ("outbox.id {no}IN (SELECT CAST(l.objid AS bigint) FROM pg_locks l"
           " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
           " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
           " AND CAST(l.classid AS bigint) = :cls{mine})")  # read once, not once per row
_LOST = sa.text(_LOCKED.format(no="NOT ", mine="")).bindparams(cls=ROW_LOCKS)
_MINE = sa.text(_LOCKED.format(no="", mine=" AND l.pid = pg_backend_pid()")) \
    .bindparams(cls=ROW_LOCKS)


def several_senders(store: Store) -> bool:
    """True where several processes may send at once (PostgreSQL)."""
    return store.engine.dialect.name == "postgresql"


def release_stale(store: Store) -> int:
    """Put rows left 'sending' by a crash back to 'pending' (only for the one sender)."""
    with store.write() as conn:
        return int(conn.execute(outbox.update().where(outbox.c.state == SENDING)
                                .values(state=PENDING, claimed_at=None)).rowcount)


@dataclass(frozen=True)
class Batch:
    """Rows claimed together; `stamp` (their claimed_at) proves the claim is still ours."""

    rows: list[OutboxRow]
    stamp: datetime


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed row: sent, failed, pending again at `retry_at` (with its
    error), or None: never tried (released, the attempt not counted)."""

    row_id: int
    state: OutboxState | None
    error: str = ""
    retry_at: datetime | None = None


class Claimer:
    """One sender's side of the outbox, as a context manager (on PostgreSQL: a connection of its
    own for the whole drain, whose session holds the row locks)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.conn: Connection | None = None

    def __enter__(self) -> Claimer:
        if several_senders(self.store):
            self.conn = self.store.engine.connect()
        else:
            release_stale(self.store)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.conn is None:
            return
        try:  # a pooled session keeps its advisory locks: drop them before it goes back
            self.conn.execute(sa.text("SELECT pg_advisory_unlock_all()"))
            self.conn.commit()
            self.conn.close()
        except sa.exc.DBAPIError:
            self.conn.invalidate()  # a broken session: closing it ends its locks too
        self.conn = None

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """A write transaction on outbox rows: on PostgreSQL row locks suffice (no
        database-wide write lock: a long sync does not hold up claims and settles)."""
        if self.conn is None:
            with self.store.write() as conn:
                yield conn
            return
        with self.conn.begin():
            yield self.conn

    def claim(self, now: datetime, limit: int) -> Batch:
        """Up to `limit` due rows, oldest first, now 'sending' for this sender (attempt counted)."""
        stamp = utc_naive(now)
        due = (sa.select(outbox.c.id).where(outbox.c.state == PENDING)
               .where(outbox.c.next_attempt_at <= stamp)
               .order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit))
        if self.conn is not None:
            due = due.with_for_update(skip_locked=True)
        with self._tx() as conn:
            if self.conn is not None:
                lost = (sa.select(outbox.c.id).where(outbox.c.state == SENDING).where(_LOST)
                        .with_for_update(skip_locked=True))
                conn.execute(outbox.update().where(outbox.c.id.in_(lost.scalar_subquery()))
                             .values(state=PENDING, claimed_at=None))
            found = conn.execute(self._locking(  # these rows are ours: nobody holds a lock
                outbox.update().where(outbox.c.id.in_(due.scalar_subquery()))
                .values(state=SENDING, claimed_at=stamp, attempts=outbox.c.attempts + 1)
                .returning(*outbox.c), "pg_advisory_lock")).all()
        return Batch(sorted((as_row(r) for r in found), key=lambda r: r.id), stamp)

    def _locking(self, stmt: sa.Update, how: str) -> sa.Update:
        """On PostgreSQL, take or drop the row lock of each row the statement writes, in the
        statement itself (RETURNING runs once per row written)."""
        if self.conn is None:
            return stmt
        return stmt.returning(getattr(sa.func, how)(sa.cast(ROW_LOCKS, sa.Integer),
                                                    outbox.c.id))

    def settle(self, batch: Batch, outcomes: Sequence[Outcome], now: datetime) -> None:
        """Record a batch's outcomes and drop its row locks, in one transaction. A row whose
        claim was taken back meanwhile (this session lost its locks) is left to its new
        sender."""
        ours = sa.and_(outbox.c.state == SENDING, outbox.c.claimed_at == batch.stamp)
        if self.conn is not None:
            ours = sa.and_(ours, _MINE)
        sent = [o.row_id for o in outcomes if o.state == SENT]
        untried = [o.row_id for o in outcomes if o.state is None]
        with self._tx() as conn:  # a row written here stays locked until commit: no other
            # sender can take it back between the unlock and the commit
            if sent:
                conn.execute(self._locking(
                    outbox.update().where(outbox.c.id.in_(sent)).where(ours)
                    .values(state=SENT, sent_at=utc_naive(now), payload=b"", last_error="",
                            claimed_at=None), "pg_advisory_unlock"))
            if untried:
                conn.execute(self._locking(
                    outbox.update().where(outbox.c.id.in_(untried)).where(ours)
                    .values(state=PENDING, claimed_at=None, attempts=outbox.c.attempts - 1),
                    "pg_advisory_unlock"))
            for o in outcomes:
                if o.state in (PENDING, FAILED):
                    values: dict[str, object] = {"state": o.state, "last_error": o.error[:2000],
                                                 "claimed_at": None}
                    if o.retry_at is not None:
                        values["next_attempt_at"] = utc_naive(o.retry_at)
                    conn.execute(self._locking(
                        outbox.update().where(outbox.c.id == o.row_id).where(ours)
                        .values(**values), "pg_advisory_unlock"))
