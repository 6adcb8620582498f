"""Importer scale: 20,000 F&T topics (varied from the real records) imported and synced, and a
300 MB Grants.gov extract streamed; wall time and peak RSS of each step, each in its own process.

    PYTHONPATH=. python benchmarks/import_scale.py [--topics 20000] [--extract-mb 300] [--keep]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.standins import write_extract  # noqa: E402

FIXTURE = ROOT / "tests" / "data" / "ftportal" / "topics.json"
# `tracker import` until cli.py registers the group: a small app around the same command
IMPORT_APP = ("import typer; from tracker.importers import register; app = typer.Typer(); "
              "app.callback()(lambda: None); register(app); app()")


def shift(stamp: str, days: int) -> str:
    """A portal stamp moved by `days`."""
    day = date.fromisoformat(stamp[:10]) + timedelta(days=days)
    return day.isoformat() + stamp[10:]


def vary(records: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """`n` distinct topics made from the real records: new ids, titles and dates."""
    base = [r for r in records if r["metadata"].get("DATASOURCE") == ["SEDIA"]]
    out = []
    for i in range(n):
        rec = copy.deepcopy(base[i % len(base)])
        meta = rec["metadata"]
        old = meta["identifier"][0]
        new = f"{old}-X{i:05d}"
        days = 400 + i % 300  # every deadline ahead
        meta["identifier"] = [new]
        meta["title"] = [f"{meta['title'][0]} (variant {i})"]
        meta["url"] = [meta["url"][0].replace(old, new)]
        meta["deadlineDate"] = [shift(s, days) for s in meta["deadlineDate"]]
        meta["startDate"] = [shift(s, days) for s in meta["startDate"]]
        meta["budgetOverview"] = [meta["budgetOverview"][0].replace(old, new)]
        out.append(rec)
    return out


def timed(label: str, argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run one step in a child process: wall seconds and that child's peak RSS in MB."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode:
        print(stdout, stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{label} failed ({child.returncode})")
    last = (stdout.strip().splitlines() or [""])[-1]
    rss = usage.ru_maxrss / 1024  # KiB on Linux
    print(f"{label:<38} {wall:7.1f} s  peak RSS {rss:7.0f} MB   {last[:70]}")
    return wall, rss


def main() -> None:
    """Generate the inputs, run each step, print one line per step."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--topics", type=int, default=20_000)
    ap.add_argument("--extract-mb", type=int, default=300)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="import-scale-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRACKER_DATABASE_URL":
           f"sqlite:///{work / 'tracker.db'}", "TRACKER_SEEDS": str(work / "imported")}
    py = sys.executable
    if args.topics:
        records = json.loads(FIXTURE.read_text())["results"]
        topics = work / "topics.json"
        topics.write_text(json.dumps({"results": vary(records, args.topics)}))
        print(f"{args.topics} topics, {topics.stat().st_size / 1e6:.0f} MB of JSON, in {work}")
        out = ["--out", str(work / "imported"), "--retrieved", "2026-11-25T10:00:00Z"]
        imp = [py, "-c", IMPORT_APP, "import", "ftportal", str(topics), *out]
        total = timed("import ftportal (first)", imp, env)[0]
        total += timed("sync (first)", [py, "-m", "tracker", "sync"], env)[0]
        print(f"{'import + sync':<38} {total:7.1f} s  (target < 60 s)")
        timed("import ftportal (unchanged)", imp, env)
        timed("sync (unchanged)", [py, "-m", "tracker", "sync"], env)
    if args.extract_mb:
        extract = work / "extract.xml"
        per_record = 3000 + 700
        write_extract(extract, args.extract_mb * 1_000_000 // per_record, description=3000)
        print(f"Grants.gov extract: {extract.stat().st_size / 1e6:.0f} MB")
        timed("import grantsgov (streamed)", [py, "-c", IMPORT_APP, "import", "grantsgov",
                                              str(extract), "--out", str(work / "gg"),
                                              "--status", "posted"], env)
        timed("parse grantsgov only (writes none)", [
            py, "-c", IMPORT_APP, "import", "grantsgov", str(extract), "--out",
            str(work / "none"), "--agency", "NO-SUCH-AGENCY"], env)
    if not args.keep:
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
