"""Figures of sync, the CLI and `feeds build`: each with its ceiling from the same run."""

from __future__ import annotations

import json
import math
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


def _fit(small: tuple[int, float], large: tuple[int, float], at: int) -> tuple[float, float]:
    """Power law through two points: (exponent, value at `at`)."""
    (n1, t1), (n2, t2) = small, large
    k = math.log(max(t2, 1e-6) / max(t1, 1e-6)) / math.log(n2 / n1)
    return k, t2 * (at / n2) ** k


@dataclass
class FeedTimes:
    """Cold and after-1% builds of one dataset, with the write-the-bytes ceiling."""

    calls: int
    cold: Timed
    warm: Timed
    ceiling: Timed
    files: int
    mbytes: float


def feeds_at(b: Bench) -> FeedTimes:
    """Cold build (empty output folder), then a build after a 1% change (sync included)."""
    cal = b.work / "calendars"
    run(b.cli("sync"), b.env, b.work)

    def wipe(_i: int) -> None:
        shutil.rmtree(cal, ignore_errors=True)

    n = b.repeats
    cold = repeat(b.cli("feeds", "build"), b.env, n, before=wipe, cwd=b.work)
    warm = repeat(b.cli("feeds", "build"), b.env, n, before=b.change, cwd=b.work)
    copy = b.work / "calendars-copy"

    def wipe_copy(_i: int) -> None:
        shutil.rmtree(copy, ignore_errors=True)

    ceil = repeat(floor("write", str(cal), str(copy)), b.env, 3, before=wipe_copy,
                  cwd=b.work)
    found = [p for p in cal.rglob("*") if p.is_file()]
    return FeedTimes(b.calls, cold, warm, ceil, len(found),
                     sum(p.stat().st_size for p in found) / 1e6)


def feeds_figures(s: Section, small: FeedTimes, large: FeedTimes, target_calls: int) -> None:
    """Rows at the measured scales, and the power-law extrapolation to the target scale."""
    for ft in (small, large):
        s.add(Row(f"feeds build, cold ({ft.calls} calls, {ft.files} files, "
                  f"{ft.mbytes:.1f} MB)", secs(ft.cold.wall), secs(ft.ceiling.wall),
                  slower(ft.cold.wall, ft.ceiling.wall), "(measured scale)", ft.cold.peak_mb,
                  ft.cold.spread))
        s.add(Row(f"feeds build after a 1% change ({ft.calls} calls)", secs(ft.warm.wall),
                  secs(ft.ceiling.wall), slower(ft.warm.wall, ft.ceiling.wall),
                  "(measured scale)", ft.warm.peak_mb, ft.warm.spread + "; sync included"))
    if large.calls >= target_calls:
        return
    for label, a, b, target in (("cold", small.cold, large.cold, "<= 20 s"),
                                ("after a 1% change", small.warm, large.warm, "<= 5 s")):
        k, est = _fit((small.calls, a.wall), (large.calls, b.wall), target_calls)
        linear = b.wall * target_calls / large.calls  # every event is rendered: at least linear
        ceil = large.ceiling.wall * target_calls / large.calls  # bytes grow linearly
        note = (f"linear from {large.calls} calls (a lower bound once start-up is small); "
                f"two-point power law "
                f"n^{k:.2f} from {small.calls} and {large.calls} calls gives ~{est:.0f} s")
        s.add(Row(f"feeds build, {label} ({target_calls} calls, EXTRAPOLATED)",
                  f"~{linear:.0f} s", f"~{ceil:.1f} s", slower(linear, ceil), target, None,
                  note))
