"""Opening a store: engines, SQLite locking, Alembic migrations."""

from __future__ import annotations

import logging
import os
import time as _time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from tracker.errors import StoreError
from tracker.urls import mask

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SYNC_LOCK_KEY = 0x7472_6163_6B65_72  # 'tracker' as an advisory-lock key for PostgreSQL
PROCESS_LOCK_KEY = SYNC_LOCK_KEY + 1  # held by the one scheduler (or sender) process
MIGRATE_LOCK_KEY = SYNC_LOCK_KEY + 2  # held while the schema is created or upgraded


@contextmanager
def file_lock(path: str, wait: float, what: str, busy: str) -> Iterator[None]:
    """An exclusive lock on `path` (created 0600), tried for `wait` seconds; StoreError names
    the holder when it stays busy. Imports fcntl here: the package imports on any platform."""
    import fcntl

    deadline = _time.monotonic() + wait
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+") as fh:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if _time.monotonic() >= deadline:
                    fh.seek(0)
                    held = fh.read().strip()
                    raise StoreError(busy.format(holder=f" (pid {held})" if held else "")) \
                        from None
                _time.sleep(0.2)
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()} {what}\n")
            fh.flush()
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _private_file(path: Path) -> None:
    """Create the SQLite file (and its folder) readable by its owner only."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))

def _sqlite_begin_immediate(engine: Engine) -> None:
    """SQLite: take the write lock at BEGIN for writers, so two syncs queue instead of deadlock."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let us emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("tracker_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str) -> Engine:
    """An engine for the URL; SQLite files get their folder, WAL and a write lock at BEGIN."""
    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        raise StoreError(f"database_url '{url}' is not a database URL; write e.g. "
                         "sqlite:///path/tracker.db or postgresql+psycopg://user@host/db") \
            from None
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            _private_file(Path(db).expanduser())
        engine = sa.create_engine(parsed, connect_args={"timeout": 30})
        _sqlite_begin_immediate(engine)
        return engine
    try:
        return sa.create_engine(parsed, pool_pre_ping=True)
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        raise StoreError(f"cannot use {parsed.get_backend_name()}: {exc}. For PostgreSQL "
                         "install the driver: pip install 'grant-tracker[postgres]'") from None


def head_revision() -> str:
    """The newest migration this version ships (files are numbered 0001_..., one line of
    history): read from the file names, so opening a store does not load Alembic."""
    names = sorted(f.name for f in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
    return names[-1][:4]


def current_revision(engine: Engine) -> str | None:
    """The migration a database is at (None for an empty database)."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        found = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        return None if found is None else str(found)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """One process at a time creates or upgrades a schema (others wait, then find it done)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATE_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATE_LOCK_KEY})
                conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with file_lock(f"{database}.migrate.lock", 60.0, "schema upgrade",
                   "the database schema is being upgraded by another process{holder}"):
        yield


def upgrade(engine: Engine, target: str = "head") -> None:
    """Create or upgrade the schema with the shipped migrations (under a lock)."""
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    with _migration_lock(engine):
        current = current_revision(engine)
        if current is not None and current not in {s.revision for s in script.walk_revisions()}:
            raise StoreError(f"the database is at schema '{current}', made by a newer version "
                             "of tracker; upgrade tracker (pip install -U grant-tracker)")
        if current == head_revision() and target == "head":
            return
        with engine.begin() as conn:
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, target)


@dataclass
class Store:
    """An open, up-to-date database."""

    engine: Engine
    url: str

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: advisory lock)."""
        with self.engine.connect().execution_options(tracker_write=True) as conn, conn.begin():
            if self.engine.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": SYNC_LOCK_KEY})
            yield conn

    @contextmanager
    def exclusive(self, what: str, wait: float = 0.0) -> Iterator[None]:
        """Hold the one-process lock of this database (the scheduler's, or a sender's).

        PostgreSQL: a session advisory lock; SQLite: a file lock next to the database file.
        Tries for `wait` seconds, then raises StoreError naming the holder where known.
        """
        busy = ("another tracker process is already running against this database{holder}; "
                f"stop it first, or let it do the work (wanted for: {what})")
        if self.engine.dialect.name == "postgresql":
            deadline = _time.monotonic() + wait
            with self.engine.connect() as conn:
                while True:
                    got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"),
                                       {"k": PROCESS_LOCK_KEY}).scalar()
                    conn.commit()
                    if got or _time.monotonic() >= deadline:
                        break
                    _time.sleep(0.2)
                if not got:
                    raise StoreError(busy.format(holder=""))
                try:
                    yield
                finally:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": PROCESS_LOCK_KEY})
                    conn.commit()
            return
        database = self.engine.url.database
        if not database or database == ":memory:":
            yield
            return
        with file_lock(f"{database}.lock", wait, what, busy):
            yield

    def read(self) -> Connection:
        """A connection for reading; use it as a context manager."""
        return self.engine.connect()

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()


def open_store(url: str, migrate: bool = True) -> Store:
    """Open the database at `url`, creating or upgrading it to this version's schema."""
    engine = make_engine(url)
    try:
        if migrate and current_revision(engine) != head_revision():
            upgrade(engine)
    except (OperationalError, sa.exc.ProgrammingError) as exc:
        raise StoreError(f"cannot open the database {mask(url)}: {exc.orig}") from None
    return Store(engine, url)


