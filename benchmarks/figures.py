"""Figures of sync, the CLI and `feeds build`: each with its ceiling from the same run."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchmarks import gen
from benchmarks.harness import PY, Row, Section, Timed, repeat, run, secs, slower, tracker


@dataclass
class Bench:
    """One dataset in one backend: where it lives and how to reach it."""

    work: Path
    seeds: Path
    url: str
    env: dict[str, str]
    calls: int
    repeats: int
    revision: int = 0  # last revision number written by a '1% change'

    def change(self, _i: int = 0) -> None:
        """Edit 1% of the rule files (a new title each time), untimed."""
        self.revision += 1
        gen.change_rules(self.seeds, self.calls, self.revision)

    def cli(self, *args: str) -> list[str]:
        return tracker(self.seeds, *args)


def floor(*args: str) -> list[str]:
    return [PY, "-m", "benchmarks.floors", *args]


def sync_figures(b: Bench, s: Section, rows: int) -> None:
    """Full sync, no-change re-sync, 1% re-sync; ceilings: read+parse+bulk insert, stat()."""
    first = run(b.cli("sync"), b.env, b.work)
    ceil = repeat(floor("sync", str(b.seeds), b.url, str(rows)), b.env, b.repeats, cwd=b.work)
    s.add(Row(f"full sync ({b.calls} calls, {rows} rows)", secs(first.wall), secs(ceil.wall),
              slower(first.wall, ceil.wall), "<= 8 s", first.peak_mb,
              "one run (needs an empty store)" + ("" if first.code == 0 else " FAILED")))
    same = repeat(b.cli("sync"), b.env, b.repeats, cwd=b.work)
    ceil = repeat(floor("stat", str(b.seeds)), b.env, b.repeats, cwd=b.work)
    s.add(Row("re-sync, nothing changed", secs(same.wall), secs(ceil.wall),
              slower(same.wall, ceil.wall), "<= 1 s", same.peak_mb, same.spread))
    edited = repeat(b.cli("sync"), b.env, b.repeats, before=b.change, cwd=b.work)
    ceil = repeat(floor("stat", str(b.seeds), b.url, "200"), b.env, b.repeats, cwd=b.work)
    s.add(Row("re-sync, 1% of files changed", secs(edited.wall), secs(ceil.wall),
              slower(edited.wall, ceil.wall), "<= 1.5 s", edited.peak_mb,
              f"{edited.spread}; {max(1, b.calls // 100)} titles edited per run"))


def busiest(out: bytes) -> str:
    """The call with the most upcoming items in a `deadlines --format json` output."""
    counts = Counter(r.get("call", "") for r in json.loads(out or b"[]"))
    return counts.most_common(1)[0][0] if counts else "call-00000"


def cli_figures(b: Bench, s: Section, n: int) -> None:
    """`deadlines --call`, `--format json`, `--help`; ceiling: `import tracker.cli`."""
    imp = repeat([PY, "-c", "import tracker.cli"], b.env, n, cwd=b.work)
    js = repeat(b.cli("deadlines", "--format", "json"), b.env, n, cwd=b.work)
    busy = busiest(js.runs[-1].out)
    one = repeat(b.cli("deadlines", "--call", busy), b.env, n, cwd=b.work)
    helps = repeat(b.cli("--help"), b.env, n, cwd=b.work)
    items = js.runs[-1].out.count(b'"id":')
    for label, t, target in ((f"deadlines --call {busy}", one, "<= 0.3 s"),
                             (f"deadlines --format json ({items} upcoming)", js, "<= 1.5 s"),
                             ("tracker --help", helps, "<= 0.15 s")):
        s.add(Row(label, secs(t.wall), secs(imp.wall), slower(t.wall, imp.wall), target,
                  t.peak_mb, t.spread))


@dataclass
class FeedTimes:
    """Cold and after-1% builds of one dataset, each with the write-the-bytes ceiling."""

    calls: int
    cold: Timed
    cold_ceiling: Timed
    files: int
    mbytes: float
    warm: Timed
    warm_ceiling: Timed
    rewritten: int
    rewritten_mbytes: float


def published(cal: Path) -> dict[Path, tuple[int, int]]:
    """The feed folder's published files (not the build's own state): inode and mtime."""
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in cal.rglob("*")
            if p.is_file() and ".build" not in p.relative_to(cal).parts}


def write_ceiling(b: Bench, files: list[Path], cal: Path) -> Timed:
    """Writing the same bytes into a fresh folder (read first, untimed by the floor itself)."""
    src, dst = b.work / "ceiling-src", b.work / "ceiling-dst"
    shutil.rmtree(src, ignore_errors=True)
    for p in files:
        target = src / p.relative_to(cal)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, target)

    def wipe(_i: int) -> None:
        shutil.rmtree(dst, ignore_errors=True)

    ceiling = repeat(floor("write", str(src), str(dst)), b.env, 3, before=wipe, cwd=b.work)
    shutil.rmtree(src, ignore_errors=True)
    shutil.rmtree(dst, ignore_errors=True)
    return ceiling


def feeds_at(b: Bench) -> FeedTimes:
    """`feeds build` on a synced store: cold (empty output folder), then after a 1% change
    (edited and synced, untimed); ceilings: writing all the bytes, and the rewritten ones."""
    cal = b.work / "calendars"
    run(b.cli("sync"), b.env, b.work)

    def wipe(_i: int) -> None:
        shutil.rmtree(cal, ignore_errors=True)

    cold = repeat(b.cli("feeds", "build"), b.env, b.repeats, before=wipe, cwd=b.work)
    every = list(published(cal))
    cold_ceiling = write_ceiling(b, every, cal)
    warm_runs, changed = [], []
    for _ in range(b.repeats):
        b.change()
        run(b.cli("sync"), b.env, b.work)
        before = published(cal)
        warm_runs.append(run(b.cli("feeds", "build"), b.env, b.work))
        after = published(cal)
        changed = [p for p, seen in after.items() if before.get(p) != seen]
    warm = Timed(warm_runs)
    return FeedTimes(b.calls, cold, cold_ceiling, len(every),
                     sum(p.stat().st_size for p in every) / 1e6, warm,
                     write_ceiling(b, changed, cal), len(changed),
                     sum(p.stat().st_size for p in changed) / 1e6)


def feeds_figures(s: Section, ft: FeedTimes) -> None:
    """The two rows of `feeds build`, measured at the section's full scale."""
    s.add(Row(f"feeds build, cold ({ft.calls} calls, {ft.files} files, {ft.mbytes:.0f} MB)",
              secs(ft.cold.wall), secs(ft.cold_ceiling.wall),
              slower(ft.cold.wall, ft.cold_ceiling.wall), "<= 20 s", ft.cold.peak_mb,
              f"{ft.cold.spread}; X.ics and X.ics.gz; ceiling: writing the same files"))
    s.add(Row(f"feeds build after a 1% change ({ft.calls} calls; {ft.rewritten} files, "
              f"{ft.rewritten_mbytes:.0f} MB rewritten)", secs(ft.warm.wall),
              secs(ft.warm_ceiling.wall), slower(ft.warm.wall, ft.warm_ceiling.wall),
              "<= 5 s", ft.warm.peak_mb,
              f"{ft.warm.spread}; the change synced first (untimed: see the re-sync rows); "
              "ceiling: writing the rewritten files"))
