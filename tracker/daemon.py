"""The only APScheduler module: one process keeps the store, feeds and mail current.

Correctness lives in our tables, not in the job store: each job does "what is due and not yet
done", so a restart after any downtime catches up exactly once. The jobs only decide *when* to
look; `Runner.tick(now)` is the whole of the work and takes the clock as an input.

On PostgreSQL any number of processes run: the leader (tracker.store.leader) imports, syncs,
builds feeds and queues mail; every process sends (the 'send' job, tracker.store.claims).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from tracker import store as db
from tracker import usecases
from tracker.calendar import feeds
from tracker.importers.sources import Fetcher, ImportSource
from tracker.mail import delivery, queue
from tracker.mail.transport import Transport
from tracker.store.leader import Leadership
from tracker.store.state import HEARTBEAT, Fact, get_state, import_finished, import_job, put_state

log = logging.getLogger("tracker.run")
Clock = Callable[[], datetime]
GRACE = 5.0  # seconds a message in flight may take to finish after SIGTERM
LEADER_JOBS = frozenset({"imports", "sync", "feeds"})
SEND_EVERY = 5.0  # seconds between looks at the outbox when several processes send


@dataclass
class Runner:
    """The scheduler's work, one method per job; every method takes `now`."""

    store: db.Store
    seeds: list[Path]
    calendars: Path
    base_url: str
    sender: str
    transport: Callable[[], Transport]
    feeds_token: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)
    sending: Transport | None = None
    sources: list[ImportSource] = field(default_factory=list)
    imported: Path = Path("imported")
    fetcher: Fetcher | None = None
    shared: bool = False  # PostgreSQL: several processes; only the leader schedules
    leads: Callable[[], bool] = lambda: True

    def sync(self, now: datetime) -> bool:
        """Apply rule changes, if any; rebuild the feeds right after a change. A broken rule
        file keeps the last good state, and is reported (tracker status) until fixed."""
        fresh = usecases.ensure_synced(self.store, self.seeds, now)
        if fresh.problem:
            raise RuntimeError(fresh.problem)
        report = fresh.report
        if report is not None and report.wrote:
            log.info("event=sync added=%d changed=%d withdrawn=%d kept=%d", report.added,
                     report.changed, report.withdrawn, len(report.orphans))
            self.feeds(now)
            return True
        return False

    def feeds(self, now: datetime) -> bool:
        """Rebuild the feed files when the store changed since the last build, or the window of
        "all" moved (once a day)."""
        token = f"{db.state_token(self.store)}/{feeds.window_start(now):%Y-%m-%d}"
        if token == self.feeds_token and (self.calendars / "index.json").exists():
            return False
        report = feeds.build(self.store, self.calendars, self.base_url, now)
        self.feeds_token = token
        log.info("event=feeds written=%d unchanged=%d folder=%s", len(report.written),
                 len(report.unchanged), self.calendars)
        return True

    def mail(self, now: datetime) -> delivery.DrainReport:
        """Queue due digests and alerts (the leader), then drain the outbox unless the 'send'
        job does that (several processes)."""
        if self.stopping.is_set():
            return delivery.DrainReport()
        if self.leads():
            queued = queue.queue_due(self.store, now, self.base_url, self.sender)
            for err in queued.errors:
                log.error("event=queue-error detail=%r", err)
            if queued.digests or queued.alerts:
                log.info("event=queued digests=%d alerts=%d", queued.digests, queued.alerts)
        return delivery.DrainReport() if self.shared else self.send(now)

    def send(self, now: datetime) -> delivery.DrainReport:
        """Drain the outbox over one connection (this process holds the sender lock, or the
        database lets several send)."""
        if self.stopping.is_set():
            return delivery.DrainReport()
        self.sending = self.transport()
        try:
            sent = queue.send_due(self.store, self.sending, self.sender, now, hold_lock=False,
                                  stop=self.stopping)
        finally:
            self.sending = None
        if sent.sent or sent.retried or sent.failed:
            log.info("event=sent sent=%d retried=%d failed=%d via=%r", sent.sent, sent.retried,
                     sent.failed, sent.where)
        for err in sent.errors:
            log.warning("event=send-error detail=%r", err)
        return sent

    def imports(self, now: datetime) -> int:
        """Run each import source whose time has come (default daily); a failing portal keeps
        the last good data. Records each source's result for `tracker status`."""
        done = get_state(self.store)
        ran = 0
        for source in self.sources:
            last = done.get(import_finished(source.name), ("", now))[0]
            due = source.next_run(datetime.fromisoformat(last) if last else None)
            if self.stopping.is_set() or (due is not None and due > now):
                continue
            from tracker.importers import live_fetcher, run_source

            folder = source.folder_in(self.imported.parent) if source.folder \
                else self.imported / source.kind
            report = run_source(source, folder, now, self.fetcher or live_fetcher())
            ran += 1
            nxt = source.next_run(report.finished)
            put_state(self.store, {
                Fact.IMPORT.key(source.name):
                    f"{'ok' if report.ok else 'FAILED'}: {report.message}",
                import_finished(source.name): report.finished.isoformat(),
                Fact.NEXT.key(import_job(source.name)): nxt.isoformat() if nxt else ""}, now)
            log.info("event=import source=%s ok=%s detail=%r", source.name, report.ok,
                     report.message)
            if report.ok and report.written and report.written.touched:
                self.sync(now)
        return ran

    def tick(self, now: datetime) -> None:
        """Everything that is due at `now`, in order: imports, sync, feeds, mail."""
        for name, job in (("imports", self.imports), ("sync", self.sync), ("feeds", self.feeds),
                          ("mail", self.mail), ("send", self.send)):
            if name != "send" or self.shared:
                self.guarded(name, job, now)

    def guarded(self, name: str, job: Callable[[datetime], object], now: datetime) -> None:
        """Run one job (the leader's jobs only while leading); an error is logged and
        recorded, never fatal to the scheduler."""
        if name in LEADER_JOBS and not self.leads():
            return
        try:
            job(now)
            self.errors.pop(name, None)
        except Exception as exc:
            self.errors[name] = f"{now:%Y-%m-%d %H:%M:%S}Z {exc.__class__.__name__}: {exc}"
            log.exception("event=job-error job=%s", name)
        try:
            state = {HEARTBEAT: now.isoformat()}
            state.update({Fact.ERROR.key(k): v for k, v in self.errors.items()})
            if name not in self.errors:
                state[Fact.ERROR.key(name)] = ""
            state[Fact.LAST.key(name)] = now.isoformat()
            put_state(self.store, state, now)
        except Exception:
            log.exception("event=state-error")


@dataclass
class Scheduled:
    """A running APScheduler with our three jobs, and a reporter of their next runs."""

    scheduler: BackgroundScheduler
    runner: Runner
    clock: Clock
    stopping: threading.Event = field(default_factory=threading.Event)
    reporter: threading.Thread | None = None
    leadership: Leadership | None = None

    def next_runs(self) -> dict[str, datetime | None]:
        """Next run time of each job."""
        return {job.id: job.next_run_time for job in self.scheduler.get_jobs()}

    def record_next_runs(self) -> None:
        """Write the next run times where `tracker status` can read them."""
        values = {Fact.NEXT.key(k): v.isoformat() if v else "" for k, v in self.next_runs().items()}
        put_state(self.runner.store, values, self.clock())

    def report_loop(self, every: float = 10.0) -> None:
        """Record next run times now and then (never from inside a job: that can deadlock)."""
        while not self.stopping.is_set():
            try:
                self.record_next_runs()
            except Exception:
                log.exception("event=state-error")
            self.stopping.wait(every)

    def stop(self, grace: float = GRACE) -> None:
        """Stop taking work; a message in flight gets `grace` seconds to finish, then its
        connection is cut and it goes back to the queue. Nothing is left 'sending'."""
        log.info("event=stopping")
        self.stopping.set()
        self.runner.stopping.set()
        if self.reporter is not None:
            self.reporter.join()
        waiter = threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": True})
        waiter.start()
        waiter.join(grace)
        if waiter.is_alive() and self.runner.sending is not None:
            log.warning("event=abort-send grace=%ss", grace)
            self.runner.sending.abort()
        waiter.join()
        if self.leadership is not None:
            self.leadership.stop()
        log.info("event=stopped")

    def wake(self) -> None:
        """Run every job now (this process has just become the leader)."""
        for job in self.scheduler.get_jobs():
            job.modify(next_run_time=datetime.now(UTC))


def start(runner: Runner, sync_every: timedelta,
          clock: Clock = lambda: datetime.now(UTC)) -> Scheduled:
    """Start the jobs: sync every `sync_every`, feeds and mail at the top of every minute."""
    scheduler = BackgroundScheduler(timezone=UTC, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": None})
    scheduled = Scheduled(scheduler, runner, clock)

    def job(name: str, work: Callable[[datetime], object]) -> Callable[[], None]:
        def run() -> None:
            runner.guarded(name, work, clock())
        return run

    first = datetime.now(UTC)  # APScheduler keeps real time; the jobs' work reads `clock`
    scheduler.add_job(job("sync", runner.sync), IntervalTrigger(seconds=sync_every.total_seconds(),
                      timezone=UTC), id="sync", next_run_time=first)
    scheduler.add_job(job("feeds", runner.feeds), CronTrigger(second=30, timezone=UTC),
                      id="feeds", next_run_time=first)
    scheduler.add_job(job("mail", runner.mail), CronTrigger(second=0, timezone=UTC),
                      id="mail", next_run_time=first)
    if runner.shared:
        scheduler.add_job(job("send", runner.send), IntervalTrigger(
            seconds=SEND_EVERY, timezone=UTC), id="send", next_run_time=first)
        scheduled.leadership = Leadership(runner.store)
        runner.leads = scheduled.leadership.leading
        scheduled.leadership.poll()  # the first runs know their role
    if runner.sources:
        scheduler.add_job(job("imports", runner.imports), CronTrigger(second=15, timezone=UTC),
                          id="imports", next_run_time=first)
    scheduler.start()
    if scheduled.leadership is not None:
        scheduled.leadership.on_gain = scheduled.wake  # a follower that takes over runs at once
        scheduled.leadership.start()
    scheduled.reporter = threading.Thread(target=scheduled.report_loop, name="tracker-status",
                                          daemon=True)
    scheduled.reporter.start()
    log.info("event=started sync_every=%ss", int(sync_every.total_seconds()))
    return scheduled


def catch_stop_signals() -> threading.Event:
    """From now on SIGTERM and SIGINT only ask for a stop (the event is set): installed first
    thing, so a stop during start-up is a clean stop too."""
    done = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("event=signal signal=%s", signal.Signals(signum).name)
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return done


def run_forever(scheduled: Scheduled, done: threading.Event | None = None) -> None:
    """Block until a stop is asked for (SIGTERM or SIGINT), then stop gracefully."""
    done = done or catch_stop_signals()
    while not done.wait(1.0):
        pass
    scheduled.stop()
