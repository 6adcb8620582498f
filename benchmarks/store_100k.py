"""Benchmark: sync and list ~100k occurrences (SQLite file, or TRACKER_DATABASE_URL).

Run: python benchmarks/store_100k.py [--calls 200] [--per-call 500]
Prints seconds for: parsing + expanding the rules, the first sync, a no-change sync, listing
upcoming items from the store, and a filtered listing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from tracker import service
from tracker import store as db
from tracker.expand import expand_all
from tracker.models import Kind

RULE = """\
id = "bench-{n:04d}"
title = "Benchmark call {n}"
tags = ["bench", "group-{g}"]
opens = 2020-01-01
closes = 2039-12-31

[cutoffs]
first = 2020-01-0{d}
every = "{every} days"
count = {count}
"""


def timed(label: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    print(f"{label:<44}{time.perf_counter() - start:8.3f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--per-call", type=int, default=500)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tracker-bench-"))
    seeds = work / "seeds"
    seeds.mkdir()
    every = max(1, (20 * 365) // args.per_call)
    for n in range(args.calls):
        (seeds / f"bench-{n:04d}.toml").write_text(
            RULE.format(n=n, g=n % 10, d=1 + n % 9, every=every, count=args.per_call))
    url = os.environ.get("TRACKER_DATABASE_URL", f"sqlite:///{work / 'bench.db'}")
    now = datetime(2030, 1, 1, tzinfo=UTC)
    rules = timed("parse + validate rules", service.rules_from, [seeds])
    items = timed("expand", expand_all, rules, now)
    print(f"{'occurrences':<44}{len(items):8d}")
    store = db.open_store(url)
    timed("first sync (insert all)", service.sync, store, [seeds], now)
    timed("second sync (no change, writes nothing)", service.sync, store, [seeds], now)
    upcoming = timed("list upcoming from the store", service.stored_deadlines, store,
                     service.Query(now=now))
    print(f"{'  items listed':<44}{len(upcoming):8d}")
    q = service.Query(now=now, tags=("group-3",), kinds=(Kind.CUTOFF,))
    some = timed("list one tag, cut-offs only", service.stored_deadlines, store, q)
    print(f"{'  items listed':<44}{len(some):8d}")
    timed("list everything, past included", service.stored_deadlines, store,
          service.Query(now=now, include_past=True))
    store.close()


if __name__ == "__main__":
    main()
