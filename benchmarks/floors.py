"""Ceiling programs, each run as its own process (interpreter start included), like the CLI.

python -m benchmarks.floors sync SEEDS URL ROWS     read + parse every file + bulk insert ROWS
python -m benchmarks.floors stat SEEDS [URL ROWS]   stat() every file [+ write ROWS rows]
python -m benchmarks.floors write SRC DST           write the bytes of every file in SRC to DST
"""

from __future__ import annotations

import os
import sys
import tomllib
from datetime import datetime
from pathlib import Path

COLUMNS = ("id", "call_id", "kind", "title", "start_local", "start_utc", "timezone", "url",
           "note")


def _rows(count: int) -> list[tuple[object, ...]]:
    stamp = datetime(2026, 1, 1, 12, 0)
    return [(f"call-{n // 5:05d}/cutoff/{n:07d}", f"call-{n // 5:05d}", "cutoff",
             f"Call {n // 5} cut-off {n}", "2026-01-01T17:00:00", stamp, "Europe/Brussels",
             f"https://calls.example.org/call-{n // 5:05d}", "") for n in range(count)]


def bulk_insert(url: str, count: int) -> None:
    """Create a table like `occurrences` (fewer columns) and insert `count` rows at once."""
    rows = _rows(count)
    cols = ", ".join(f"{c} TEXT" if c != "start_utc" else f"{c} TIMESTAMP" for c in COLUMNS)
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.split(":///", 1)[1])
        conn.execute("DROP TABLE IF EXISTS bench_floor")
        conn.execute(f"CREATE TABLE bench_floor ({cols}, PRIMARY KEY (id))")
        conn.executemany(f"INSERT INTO bench_floor VALUES ({', '.join('?' * len(COLUMNS))})",
                         rows)
        conn.commit()
        conn.close()
        return
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as pg:
        pg.execute("DROP TABLE IF EXISTS bench_floor")
        pg.execute(f"CREATE TABLE bench_floor ({cols}, PRIMARY KEY (id))")
        with pg.cursor() as cur, cur.copy(f"COPY bench_floor ({', '.join(COLUMNS)}) "
                                          "FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def files(seeds: Path) -> list[Path]:
    out = []
    for folder, _dirs, names in os.walk(seeds):
        out += [Path(folder) / n for n in names if n.endswith(".toml")]
    return sorted(out)


def main(argv: list[str]) -> None:
    what = argv[0]
    if what == "sync":
        for f in files(Path(argv[1])):
            tomllib.loads(f.read_text(encoding="utf-8"))
        bulk_insert(argv[2], int(argv[3]))
    elif what == "stat":
        for f in files(Path(argv[1])):
            f.stat()
        if len(argv) > 3:
            bulk_insert(argv[2], int(argv[3]))
    elif what == "write":
        src, dst = Path(argv[1]), Path(argv[2])
        blobs = {p.relative_to(src): p.read_bytes() for p in src.rglob("*") if p.is_file()}
        for rel, data in blobs.items():
            target = dst / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    else:
        raise SystemExit(f"unknown ceiling {what!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
