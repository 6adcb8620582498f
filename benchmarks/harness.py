"""Run commands as whole processes: wall time and peak memory (wait4), figures and the table."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PY = sys.executable
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    """One finished process."""

    wall: float
    peak_mb: float
    code: int
    out: bytes


def run(cmd: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: float = 1800.0) -> Run:
    """Start, wait (wait4: that child's own peak RSS), return its wall time and output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), env=env, cwd=cwd, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.002)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        data = out.read()
        if proc.returncode != 0:
            sys.stderr.write(f"  ! exit {proc.returncode}: {' '.join(cmd)[:160]}\n"
                             f"    {err.read()[-600:].decode(errors='replace')}\n")
        return Run(wall, usage.ru_maxrss / 1024, proc.returncode, data)


@dataclass
class Timed:
    """Several runs of one command: median wall time, largest peak memory."""

    runs: list[Run]

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def peak_mb(self) -> float:
        return max(r.peak_mb for r in self.runs)

    @property
    def spread(self) -> str:
        walls = [r.wall for r in self.runs]
        return f"n={len(walls)} {min(walls):.2f}-{max(walls):.2f}s" if len(walls) > 1 else "n=1"


def repeat(cmd: Sequence[str], env: dict[str, str] | None, n: int,
           before: Callable[[int], None] | None = None, cwd: Path | None = None) -> Timed:
    """n runs; `before(i)` prepares run i (untimed)."""
    runs = []
    for i in range(n):
        if before is not None:
            before(i)
        runs.append(run(cmd, env, cwd))
    return Timed(runs)


@dataclass
class Row:
    """One line of the table."""

    figure: str
    value: str
    ceiling: str
    ratio: str
    target: str
    peak_mb: float | None = None
    note: str = ""


@dataclass
class Section:
    """The rows of one backend."""

    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(f"  {row.figure}: {row.value} (ceiling {row.ceiling}, {row.ratio}; target "
              f"{row.target}){' ' + row.note if row.note else ''}", flush=True)


def secs(value: float) -> str:
    return f"{value:.2f} s"


def slower(value: float, floor: float) -> str:
    """Time ratio: how many times the ceiling."""
    return f"{value / floor:.1f}x ceiling" if floor > 0 else "n/a"


def render(sections: Sequence[Section]) -> str:
    """Markdown tables, one per section."""
    lines: list[str] = []
    for s in sections:
        lines += ["", f"## {s.title}", "",
                  "| figure | today | ceiling (same run) | ratio | target | peak MB | note |",
                  "|---|---|---|---|---|---|---|"]
        for r in s.rows:
            peak = f"{r.peak_mb:.0f}" if r.peak_mb is not None else ""
            lines.append(f"| {r.figure} | {r.value} | {r.ceiling} | {r.ratio} | {r.target} "
                         f"| {peak} | {r.note} |")
        lines += [f"- {n}" for n in s.notes]
    return "\n".join(lines) + "\n"


def tracker_env(seeds: Path, url: str, work: Path) -> dict[str, str]:
    """The environment every tracker subprocess gets (README 'Configuration')."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update({
        "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "TRACKER_SEEDS": str(seeds), "TRACKER_DATABASE_URL": url,
        "TRACKER_CALENDARS": str(work / "calendars"), "TRACKER_TIMEZONE": "UTC",
        "TRACKER_MAILDIR": str(work / "maildir"), "TRACKER_BASE_URL": "https://bench.example",
        "HOME": str(work),
    })
    return env


def tracker(seeds: Path, *args: str) -> list[str]:
    """The CLI as a subprocess."""
    return [PY, "-m", "tracker", "--seeds", str(seeds), *args]
