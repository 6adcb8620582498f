"""The store: the only module that imports SQLAlchemy. Tables, migrations, sync with history."""

from __future__ import annotations

import logging
import time as _time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from tracker.errors import StoreError
from tracker.expand import budget_as_of
from tracker.models import Kind, Occurrence, Precision, Revision, Rule, Status

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SYNC_LOCK_KEY = 0x7472_6163_6B65_72  # 'tracker' as an advisory-lock key for PostgreSQL

metadata = sa.MetaData()

calls = sa.Table(
    "calls", metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("identifiers", sa.Text, nullable=False, server_default=""),
    sa.Column("funder", sa.Text, nullable=False, server_default=""),
    sa.Column("url", sa.Text, nullable=False, server_default=""),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("submission", sa.String(20), nullable=False, server_default=""),
    sa.Column("opens", sa.Date),
    sa.Column("closes", sa.Date),
    sa.Column("budget_amount", sa.BigInteger),
    sa.Column("budget_currency", sa.String(3), nullable=False, server_default=""),
    sa.Column("budget_remaining", sa.BigInteger),
    sa.Column("source_file", sa.Text, nullable=False, server_default=""),
    sa.Column("withdrawn", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
    sa.Column("first_seen", sa.DateTime, nullable=False),
    sa.Column("last_modified", sa.DateTime, nullable=False),
    sa.Column("programmes", sa.Text, nullable=False, server_default=""),
)

call_tags = sa.Table(
    "call_tags", metadata,
    sa.Column("call_id", sa.String(200), sa.ForeignKey("calls.id"), primary_key=True),
    sa.Column("tag", sa.String(100), primary_key=True),
)

occurrences = sa.Table(
    "occurrences", metadata,
    sa.Column("id", sa.String(300), primary_key=True),
    sa.Column("call_id", sa.String(200), sa.ForeignKey("calls.id"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("start_local", sa.String(40), nullable=False),
    sa.Column("start_utc", sa.DateTime, nullable=False),
    sa.Column("last_utc", sa.DateTime, nullable=False, index=True),
    sa.Column("all_day", sa.Boolean, nullable=False),
    sa.Column("end_date", sa.Date),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("precision", sa.String(10), nullable=False),
    sa.Column("tentative", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("moved_from", sa.String(40), nullable=False, server_default=""),
    sa.Column("url", sa.Text, nullable=False, server_default=""),
    sa.Column("source", sa.Text, nullable=False, server_default=""),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("withdrawn", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("sequence", sa.Integer, nullable=False, server_default="0"),
    sa.Column("first_seen", sa.DateTime, nullable=False),
    sa.Column("last_modified", sa.DateTime, nullable=False),
    sa.Index("ix_occurrences_call_id", "call_id"),
)

revisions = sa.Table(
    "revisions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entity", sa.String(20), nullable=False),
    sa.Column("entity_id", sa.String(300), nullable=False, index=True),
    sa.Column("call_id", sa.String(200), nullable=False),
    sa.Column("change", sa.String(20), nullable=False),
    sa.Column("field", sa.String(40), nullable=False, server_default=""),
    sa.Column("old", sa.Text, nullable=False, server_default=""),
    sa.Column("new", sa.Text, nullable=False, server_default=""),
    sa.Column("detected_at", sa.DateTime, nullable=False, index=True),
    sa.Column("source", sa.Text, nullable=False, server_default=""),
    sa.Column("sync_id", sa.Integer),
)

sync_runs = sa.Table(
    "sync_runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("finished_at", sa.DateTime, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("added", sa.Integer, nullable=False, server_default="0"),
    sa.Column("changed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("withdrawn", sa.Integer, nullable=False, server_default="0"),
)

# Fields a subscriber sees: a change to any of them raises the revision counter.
OCC_FIELDS = ("call_id", "kind", "title", "start_local", "all_day", "end_date", "timezone",
              "precision", "tentative", "status", "moved_from", "url", "source", "note")
CALL_FIELDS = ("type", "title", "identifiers", "funder", "url", "timezone", "submission",
               "opens", "closes", "budget_amount", "budget_currency", "budget_remaining",
               "programmes")


def utc_naive(moment: datetime) -> datetime:
    """Stored instants are naive UTC on every back end."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def from_utc_naive(moment: datetime) -> datetime:
    """Back to an aware UTC instant."""
    return moment.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------- opening a store

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
            Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 30})
        _sqlite_begin_immediate(engine)
        return engine
    try:
        return sa.create_engine(parsed, pool_pre_ping=True)
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        raise StoreError(f"cannot use {parsed.get_backend_name()}: {exc}. For PostgreSQL "
                         "install the driver: pip install 'grant-tracker[postgres]'") from None


def _alembic_config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    """The newest migration this version ships."""
    heads = ScriptDirectory(str(MIGRATIONS)).get_heads()
    return str(heads[0])


def current_revision(engine: Engine) -> str | None:
    """The migration a database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, target: str = "head") -> None:
    """Create or upgrade the schema with the shipped migrations."""
    current = current_revision(engine)
    script = ScriptDirectory(str(MIGRATIONS))
    if current is not None and current not in {s.revision for s in script.walk_revisions()}:
        raise StoreError(f"the database is at schema '{current}', made by a newer version of "
                         "tracker; upgrade tracker (pip install -U grant-tracker)")
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), target)


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
    except OperationalError as exc:
        raise StoreError(f"cannot open the database {_safe(url)}: {exc.orig}") from None
    return Store(engine, url)


def mask_url(url: str) -> str:
    """The URL with its password hidden."""
    return _safe(url)


def _safe(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)


# ---------------------------------------------------------------------------- rows

def _moment_text(value: datetime | date | None) -> str:
    if value is None:
        return ""
    return value.isoformat()


def occurrence_row(o: Occurrence) -> dict[str, Any]:
    """The stored, day-independent form of an occurrence ('passed' is computed when read)."""
    status = o.standing
    if isinstance(o.start, datetime):
        last = o.start
    else:
        last = datetime.combine(o.last_day + timedelta(days=1), time(0), ZoneInfo(o.timezone))
    return {
        "id": o.id, "call_id": o.call_id, "kind": o.kind.value, "title": o.title,
        "start_local": _moment_text(o.start), "start_utc": utc_naive(o.instant),
        "last_utc": utc_naive(last), "all_day": o.all_day, "end_date": o.end,
        "timezone": o.timezone, "precision": o.precision.value, "tentative": o.tentative,
        "status": status.value, "moved_from": _moment_text(o.original), "url": o.url,
        "source": o.source, "note": o.note,
    }


def call_row(rule: Rule, today: date) -> dict[str, Any]:
    """The stored form of a rule's call-level facts, budget as known on `today`."""
    budget = budget_as_of(rule, today)
    return {
        "id": rule.id, "type": rule.type.value, "title": rule.title,
        "identifiers": " ".join(rule.identifiers), "funder": rule.funder, "url": rule.url,
        "timezone": rule.timezone,
        "submission": rule.submission.value if rule.submission else "",
        "opens": rule.opens, "closes": rule.closes,
        "budget_amount": budget.amount if budget else None,
        "budget_currency": budget.currency if budget else "",
        "budget_remaining": budget.remaining if budget else None,
        "source_file": rule.path, "programmes": "\n".join(rule.programmes),
    }


def _parse_moment(text: str, zone: str) -> datetime | date | None:
    if not text:
        return None
    if "T" in text:
        return datetime.fromisoformat(text).astimezone(ZoneInfo(zone))
    return date.fromisoformat(text)


def row_occurrence(row: Any, tags: tuple[str, ...], now: datetime, call_title: str) \
        -> Occurrence:
    """A stored row back to an Occurrence, with 'passed' computed for `now`."""
    start = _parse_moment(row.start_local, row.timezone)
    assert start is not None
    status = Status(row.status) if row.status != "withdrawn" else Status.CANCELLED
    if status is not Status.CANCELLED and from_utc_naive(row.last_utc) <= now:
        status = Status.PASSED
    return Occurrence(
        id=row.id, call_id=row.call_id, call_title=call_title, kind=Kind(row.kind),
        title=row.title, start=start, timezone=row.timezone, status=status,
        precision=Precision(row.precision), tentative=row.tentative, end=row.end_date,
        original=_parse_moment(row.moved_from, row.timezone), url=row.url, source=row.source,
        note=row.note, tags=tags,
    )


# ---------------------------------------------------------------------------- sync

@dataclass
class Change:
    """One line of history: what changed, from what to what."""

    entity: str
    entity_id: str
    call_id: str
    change: str  # added | moved | cancelled | changed | withdrawn | restored | budget
    field: str = ""
    old: str = ""
    new: str = ""
    detected_at: datetime | None = None
    source: str = ""


@dataclass
class SyncReport:
    """What a sync did."""

    added: int = 0
    changed: int = 0
    withdrawn: int = 0
    changes: list[Change] = field(default_factory=list)
    wrote: bool = False

    @property
    def total(self) -> int:
        """How many calls and occurrences were touched."""
        return self.added + self.changed + self.withdrawn


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _kind_of_change(entity: str, fields: dict[str, tuple[Any, Any]]) -> str:
    if entity == "call":
        return "budget" if any(f.startswith("budget") for f in fields) else "changed"
    status = fields.get("status")
    if status and status[1] == Status.CANCELLED.value:
        return "cancelled"
    if "start_local" in fields:
        return "moved"
    return "changed"


def _diff(old: dict[str, Any], new: dict[str, Any], names: Sequence[str]) \
        -> dict[str, tuple[Any, Any]]:
    out = {}
    for n in names:
        a, b = old.get(n), new.get(n)
        if isinstance(a, datetime) or isinstance(b, datetime):
            a, b = _text(a), _text(b)
        if a != b:
            out[n] = (a, b)
    return out


def _apply(conn: Connection, table: sa.Table, entity: str, counter: str, names: Sequence[str],
           fresh: dict[str, dict[str, Any]], now: datetime, report: SyncReport) -> None:
    """Insert, update (with revisions) and withdraw rows of one table; never delete."""
    stamp = utc_naive(now)
    cols = [table.c.id, table.c.withdrawn, table.c[counter], *(table.c[n] for n in names)]
    existing = {r.id: r._asdict() for r in conn.execute(sa.select(*cols))}
    inserts, updates = [], []
    for key, row in fresh.items():
        call_id = row.get("call_id", key)
        old = existing.get(key)
        if old is None:
            inserts.append({**row, counter: 0, "withdrawn": False, "first_seen": stamp,
                            "last_modified": stamp})
            report.added += 1
            report.changes.append(Change(entity, key, call_id, "added", new=row.get("title", ""),
                                         detected_at=now, source=row.get("source", "")))
            continue
        fields = _diff(old, row, names)
        restored = bool(old["withdrawn"])
        if not fields and not restored:
            continue
        report.changed += 1
        if restored:
            report.changes.append(Change(entity, key, call_id, "restored", detected_at=now,
                                         source=row.get("source", "")))
        kind = _kind_of_change(entity, fields)
        for name, (a, b) in fields.items():
            report.changes.append(Change(entity, key, call_id, kind, name, _text(a), _text(b),
                                         now, row.get("source", "")))
        updates.append({**{n: row[n] for n in row if n != "id"}, "b_id": key,
                        counter: old[counter] + 1, "withdrawn": False, "last_modified": stamp})
    gone = [k for k, old in existing.items() if k not in fresh and not old["withdrawn"]]
    for key in gone:
        report.withdrawn += 1
        call_id = existing[key].get("call_id", key)
        report.changes.append(Change(entity, key, call_id, "withdrawn", detected_at=now))
    if inserts:
        conn.execute(table.insert(), inserts)
    for upd in updates:  # one statement per row: rows differ in which columns they set
        values = {k: v for k, v in upd.items() if k != "b_id"}
        conn.execute(table.update().where(table.c.id == upd["b_id"]).values(**values))
    if gone:
        extra = {"status": "withdrawn"} if entity == "occurrence" else {}
        for key in gone:
            conn.execute(table.update().where(table.c.id == key).values(
                withdrawn=True, last_modified=stamp, **{counter: existing[key][counter] + 1},
                **extra))


def last_fingerprint(conn: Connection) -> str | None:
    """The seed fingerprint of the last sync that wrote anything."""
    row = conn.execute(sa.select(sync_runs.c.fingerprint).order_by(sync_runs.c.id.desc())
                       .limit(1)).first()
    return None if row is None else str(row.fingerprint)


def sync(store: Store, rules: Sequence[Rule], items: Sequence[Occurrence], now: datetime,
         fingerprint: str, pause_before_commit: float = 0.0) -> SyncReport:
    """Apply rules and their occurrences to the store in ONE transaction; write only changes."""
    report = SyncReport()
    call_rows = {r.id: call_row(r, now.astimezone(r.zone).date()) for r in rules}
    occ_rows = {o.id: occurrence_row(o) for o in items}
    tags = {(r.id, t) for r in rules for t in r.tags}
    try:
        with store.write() as conn:
            _apply(conn, calls, "call", "revision", CALL_FIELDS, call_rows, now, report)
            _apply(conn, occurrences, "occurrence", "sequence", OCC_FIELDS, occ_rows, now, report)
            have = {(r.call_id, r.tag) for r in conn.execute(sa.select(call_tags))}
            if have != tags:
                conn.execute(call_tags.delete())
                if tags:
                    conn.execute(call_tags.insert(), [{"call_id": c, "tag": t} for c, t in tags])
            if report.total == 0 and have == tags and last_fingerprint(conn) == fingerprint:
                return report  # nothing changed: the transaction commits with no writes
            key = conn.execute(sync_runs.insert().values(
                finished_at=utc_naive(now), fingerprint=fingerprint, added=report.added,
                changed=report.changed, withdrawn=report.withdrawn)).inserted_primary_key
            run_id = key[0] if key else None
            if report.changes:
                conn.execute(revisions.insert(), [{
                    "entity": c.entity, "entity_id": c.entity_id, "call_id": c.call_id,
                    "change": c.change, "field": c.field, "old": c.old, "new": c.new,
                    "detected_at": utc_naive(now), "source": c.source, "sync_id": run_id,
                } for c in report.changes])
            if pause_before_commit:  # fault-injection hook for the crash tests
                log.warning("test hook: holding the sync transaction open for %ss",
                            pause_before_commit)
                _time.sleep(pause_before_commit)
            report.wrote = True
    except SQLAlchemyError as exc:
        raise StoreError(f"sync failed, nothing was changed: {exc.__class__.__name__}: "
                         f"{getattr(exc, 'orig', exc)}") from None
    return report


# ---------------------------------------------------------------------------- queries

@dataclass(frozen=True)
class Window:
    """A coarse SQL pre-filter; exact filtering is the service's job."""

    since: datetime | None = None
    until: datetime | None = None
    calls: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    include_withdrawn: bool = False


def load_occurrences(store: Store, window: Window, now: datetime) -> list[Occurrence]:
    """Occurrences from the store, in the one chronological order."""
    q = sa.select(occurrences, calls.c.title.label("call_title")).join(
        calls, calls.c.id == occurrences.c.call_id)
    if window.since is not None:
        q = q.where(occurrences.c.last_utc >= utc_naive(window.since))
    if window.until is not None:
        q = q.where(occurrences.c.start_utc <= utc_naive(window.until))
    if window.calls:
        q = q.where(occurrences.c.call_id.in_(window.calls))
    if window.kinds:
        q = q.where(occurrences.c.kind.in_(window.kinds))
    if not window.include_withdrawn:
        q = q.where(occurrences.c.withdrawn == sa.false())
    q = q.order_by(occurrences.c.start_utc, occurrences.c.id)
    with store.read() as conn:
        tag_map: dict[str, list[str]] = {}
        for r in conn.execute(sa.select(call_tags).order_by(call_tags.c.tag)):
            tag_map.setdefault(r.call_id, []).append(r.tag)
        tags = {k: tuple(v) for k, v in tag_map.items()}
        return [row_occurrence(r, tags.get(r.call_id, ()), now, r.call_title)
                for r in conn.execute(q)]


def revision_map(store: Store) -> dict[str, Revision]:
    """Every occurrence's sequence and last-modified instant."""
    q = sa.select(occurrences.c.id, occurrences.c.sequence, occurrences.c.last_modified)
    with store.read() as conn:
        return {r.id: Revision(r.sequence, from_utc_naive(r.last_modified))
                for r in conn.execute(q)}


def changes_since(store: Store, since: datetime | None, call_ids: Sequence[str] = ()) \
        -> list[Change]:
    """History lines, oldest first."""
    q = sa.select(revisions).order_by(revisions.c.id)
    if since is not None:
        q = q.where(revisions.c.detected_at >= utc_naive(since))
    if call_ids:
        q = q.where(revisions.c.call_id.in_(call_ids))
    with store.read() as conn:
        return [Change(r.entity, r.entity_id, r.call_id, r.change, r.field, r.old, r.new,
                       from_utc_naive(r.detected_at), r.source) for r in conn.execute(q)]


def call_names(store: Store) -> list[tuple[str, list[str]]]:
    """Every stored call's id and official identifiers."""
    with store.read() as conn:
        return [(r.id, r.identifiers.split()) for r in
                conn.execute(sa.select(calls.c.id, calls.c.identifiers).order_by(calls.c.id))]


def last_sync(store: Store) -> tuple[datetime, str] | None:
    """When the last writing sync finished, and its seed fingerprint."""
    with store.read() as conn:
        row = conn.execute(sa.select(sync_runs).order_by(sync_runs.c.id.desc()).limit(1)).first()
    return None if row is None else (from_utc_naive(row.finished_at), str(row.fingerprint))


def is_stale(store: Store, fingerprint: str) -> bool:
    """True when the seeds differ from what the store last synced."""
    with store.read() as conn:
        return last_fingerprint(conn) != fingerprint


def counts(store: Store) -> dict[str, int]:
    """Row counts, for status and tests."""
    with store.read() as conn:
        return {t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                for t in (calls, occurrences, revisions, sync_runs)}


def occurrence_state(store: Store, occ_id: str) -> dict[str, Any] | None:
    """One stored occurrence row as a dict (None when absent)."""
    with store.read() as conn:
        row = conn.execute(sa.select(occurrences).where(occurrences.c.id == occ_id)).first()
    return None if row is None else dict(row._mapping)


def wait_for(url: str, seconds: float = 10.0) -> None:
    """Retry connecting until the server answers (for a database that is starting)."""
    deadline = _time.monotonic() + seconds
    while True:
        try:
            engine = make_engine(url)
            with engine.connect():
                engine.dispose()
                return
        except OperationalError:
            if _time.monotonic() > deadline:
                raise
            _time.sleep(0.2)


@dataclass(frozen=True)
class CallRecord:
    """A stored call, as feeds and digests describe it."""

    id: str
    type: str
    title: str
    url: str
    funder: str
    programmes: tuple[str, ...]
    tags: tuple[str, ...]
    budget_amount: int | None
    budget_currency: str
    budget_remaining: int | None
    withdrawn: bool

    def budget_label(self) -> str:
        """'EUR 1,000,000,000 (remaining EUR 0)' or ''."""
        if self.budget_amount is None:
            return ""
        text = f"{self.budget_currency} {self.budget_amount:,}"
        if self.budget_remaining is not None:
            text += f" (remaining {self.budget_currency} {self.budget_remaining:,})"
        return text


def load_calls(store: Store) -> dict[str, CallRecord]:
    """Every stored call by id."""
    with store.read() as conn:
        tag_map: dict[str, list[str]] = {}
        for r in conn.execute(sa.select(call_tags).order_by(call_tags.c.tag)):
            tag_map.setdefault(r.call_id, []).append(r.tag)
        return {r.id: CallRecord(
            r.id, r.type, r.title, r.url, r.funder,
            tuple(p for p in r.programmes.split("\n") if p), tuple(tag_map.get(r.id, ())),
            r.budget_amount, r.budget_currency, r.budget_remaining, r.withdrawn,
        ) for r in conn.execute(sa.select(calls).order_by(calls.c.id))}


def last_changes(store: Store) -> dict[str, Change]:
    """The latest change (other than 'added') of each occurrence, for a feed's DESCRIPTION."""
    q = (sa.select(revisions).where(revisions.c.entity == "occurrence")
         .where(revisions.c.change != "added").where(revisions.c.field != "moved_from")
         .order_by(revisions.c.id))
    out: dict[str, Change] = {}
    with store.read() as conn:
        for r in conn.execute(q):
            out[r.entity_id] = Change(r.entity, r.entity_id, r.call_id, r.change, r.field, r.old,
                                      r.new, from_utc_naive(r.detected_at), r.source)
    return out


def state_token(store: Store) -> str:
    """Changes whenever anything a feed shows changes (the last sync run's id)."""
    with store.read() as conn:
        row = conn.execute(sa.select(sa.func.max(sync_runs.c.id))).scalar()
    return str(row or 0)
