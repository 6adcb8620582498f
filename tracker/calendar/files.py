"""Writing feed files atomically (temp file + rename), only when their bytes changed; an index."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

INDEX = "index.json"


@dataclass
class WriteReport:
    """Which files a build wrote and which it left as they were."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def write_atomic(path: Path, data: bytes) -> bool:
    """Replace `path` with `data` in one rename; False (and no write) when it already holds it."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def write_feeds(out: Path, files: Mapping[str, bytes], index: Mapping[str, object]) -> WriteReport:
    """Write every feed (`files`: 'calls/x.ics' -> bytes) and the index, each only if changed."""
    report = WriteReport()
    for rel, data in sorted(files.items()):
        (report.written if write_atomic(out / rel, data) else report.unchanged).append(rel)
    text = json.dumps(index, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    (report.written if write_atomic(out / INDEX, text.encode()) else report.unchanged) \
        .append(INDEX)
    return report
