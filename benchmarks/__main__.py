"""python -m benchmarks [--scale 20000] [--quick] [--backend sqlite|postgresql|both]

Generates rule files and subscribers deterministically, drives the tracker CLI as subprocesses,
and prints every figure of issue 13 with its ceiling from the same run, the ratio and peak
memory. It prints figures; it never asserts timings.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import gen
from benchmarks.figures import Bench, cli_figures, feeds_at, feeds_figures, sync_figures
from benchmarks.harness import Section, render, run, tracker_env
from benchmarks.http import serve_figures
from benchmarks.mailbench import digest_figures, smtp_figures
from benchmarks.senders import sender_figures


@dataclass(frozen=True)
class Plan:
    """How big each part runs."""

    calls: int
    serve_calls: int
    subscribers: tuple[int, int]
    target_subscribers: int
    smtp_messages: int
    load_seconds: float
    repeats: int
    cli_repeats: int


def plan_of(args: argparse.Namespace) -> Plan:
    if args.quick:
        return Plan(args.scale or 300, 40, (50, 200), 100_000, 520, 1.0, 1, 1)
    return Plan(args.scale or 20_000, 600, (1_000, 10_000), 100_000, 1000, 5.0, 2, 3)


@contextmanager
def database(kind: str, work: Path) -> Iterator[Callable[[str], str]]:
    """Yields name -> URL of a fresh database of that kind."""
    if kind == "sqlite":
        yield lambda name: f"sqlite:///{work / name}.db"
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.pg import create_database, postgres_server

    with postgres_server() as base:
        yield lambda name: create_database(base, name)


def bench(work: Path, name: str, url: str, calls: int, repeats: int) -> Bench:
    folder = work / name
    seeds = folder / "seeds"
    gen.write_rules(seeds, calls)
    return Bench(folder, seeds, url, tracker_env(seeds, url, folder), calls, repeats)


def section(kind: str, p: Plan, work: Path) -> Section:
    s = Section("SQLite" if kind == "sqlite" else "PostgreSQL")
    print(f"\n== {s.title} ==", flush=True)
    with database(kind, work) as make:
        t0 = time.perf_counter()
        main = bench(work, f"{kind}-main", make(f"{kind}_main"), p.calls, p.repeats)
        occurrences = expected_rows(main)
        sync_figures(main, s, occurrences)
        cli_figures(main, s, p.cli_repeats)
        digest_figures(main, s, *p.subscribers, p.target_subscribers)
        if kind == "postgresql":
            sender_figures(main, s, p.smtp_messages)
        smtp_figures(main, s, p.smtp_messages)
        feeds_figures(s, feeds_at(main))
        shutil.rmtree(main.seeds, ignore_errors=True)
        served = bench(work, f"{kind}-serve", make(f"{kind}_serve"), p.serve_calls, 1)
        run(served.cli("sync"), served.env, served.work)
        run(served.cli("feeds", "build"), served.env, served.work)  # what serving reads
        serve_figures(s, served.env, served.work, served.seeds, served.calls, p.load_seconds,
                      startup=600)
        s.notes.append(f"section took {time.perf_counter() - t0:.0f} s")
    return s


def expected_rows(b: Bench) -> int:
    """Occurrences the rules expand to (what the bulk-insert ceiling writes)."""
    got = run([sys.executable, "-c",
               "import sys; from datetime import UTC, datetime; from pathlib import Path; "
               "from tracker import api; "
               "print(len(api.expand_all(api.load_rules([Path(sys.argv[1])]), "
               "datetime.now(UTC))))", str(b.seeds)], b.env, b.work)
    return int(got.out.decode().strip() or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=0, help="calls (default 20000; quick 300)")
    parser.add_argument("--quick", action="store_true", help="small scale, under a minute")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--out", type=Path, help="also write the tables (Markdown) here")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    p = plan_of(args)
    work = Path(tempfile.mkdtemp(prefix="tracker-bench-"))
    started = datetime.now(UTC)
    print(f"tracker benchmarks {started:%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{platform.python_version()}, {p}\nwork folder {work}", flush=True)
    kinds = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    sections = []
    try:
        for kind in kinds:
            try:
                sections.append(section(kind, p, work))
            except FileNotFoundError as exc:  # no PostgreSQL binaries
                skipped = Section(kind)
                skipped.notes.append(f"skipped: {exc}")
                sections.append(skipped)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    table = render(sections)
    print(table)
    print(f"total {(datetime.now(UTC) - started).total_seconds():.0f} s")
    if args.out:
        args.out.write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
