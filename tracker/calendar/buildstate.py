"""What the last `feeds build` into a folder was built from: OUT/.build/.

state.json records, per call, a digest of what its events were rendered from and where their
texts are in the blob (events-N.bin: every call's event texts, one after another); per feed, a
key of its content, a digest of its bytes, its Last-Modified and the sizes written. A missing,
unreadable or foreign state (another renderer) is an empty one: the next build is a cold one.
The blob only grows (new texts are appended) until half of it is stale, then it is rewritten.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracker.calendar import files

FOLDER = ".build"
STATE = "state.json"
FORMAT = 1
RENDERING = ("tracker.calendar.events", "tracker.calendar.ics", "tracker.calendar.vtimezone",
             "tracker.calendar.feeds", "tracker.calendar.build", "tracker.evidence",
             "tracker.changes", "tracker.models.occurrences", "tracker.models.rules")


def renderer() -> str:
    """A digest of the code that turns rows into bytes: a new version rebuilds every feed."""
    from importlib.metadata import version

    h = hashlib.blake2b(f"{FORMAT} icalendar {version('icalendar')}".encode(), digest_size=12)
    for name in RENDERING:
        module = sys.modules.get(name)
        source = getattr(module, "__file__", None)
        h.update(Path(source).read_bytes() if source else name.encode())
    return h.hexdigest()


@dataclass
class CallTexts:
    """Where one call's event texts are in the blob, and what they were rendered from."""

    digest: str
    offset: int
    lengths: list[int]


@dataclass
class FeedRecord:
    """One written feed: its content key, bytes digest, Last-Modified (s) and file sizes."""

    key: str
    digest: str
    modified: int
    size: int
    gz_size: int


@dataclass
class State:
    """The state of one output folder."""

    renderer: str
    blob: str = ""
    blob_size: int = 0
    calls: dict[str, CallTexts] = field(default_factory=dict)
    feeds: dict[str, FeedRecord] = field(default_factory=dict)
    index: str = ""  # what index.json was made from

    def live_size(self) -> int:
        """Bytes of the blob that some call still uses."""
        return sum(sum(c.lengths) for c in self.calls.values())


def load(out: Path, current: str) -> State:
    """The folder's state, or an empty one (cold build)."""
    try:
        raw: dict[str, Any] = json.loads((out / FOLDER / STATE).read_bytes())
        if raw.get("renderer") != current:
            return State(current)
        state = State(current, raw["blob"], raw["blob_size"],
                      {k: CallTexts(*v) for k, v in raw["calls"].items()},
                      {k: FeedRecord(*v) for k, v in raw["feeds"].items()}, raw["index"])
        blob = out / FOLDER / state.blob
        if state.blob and blob.stat().st_size < state.blob_size:
            return State(current)
        return state
    except (OSError, ValueError, KeyError, TypeError):
        return State(current)


def save(out: Path, state: State) -> None:
    """Write state.json in one rename (after the blob and the feeds it describes)."""
    raw = {"renderer": state.renderer, "blob": state.blob, "blob_size": state.blob_size,
           "calls": {k: [c.digest, c.offset, c.lengths] for k, c in sorted(state.calls.items())},
           "feeds": {k: [f.key, f.digest, f.modified, f.size, f.gz_size]
                     for k, f in sorted(state.feeds.items())}, "index": state.index}
    files.replace(out / FOLDER / STATE, json.dumps(raw, separators=(",", ":")).encode())


def read_blob(out: Path, state: State) -> memoryview:
    """The texts of the last build (empty when there are none)."""
    if not state.blob:
        return memoryview(b"")
    with open(out / FOLDER / state.blob, "rb") as fh:
        return memoryview(fh.read(state.blob_size))


def texts_of(blob: memoryview, where: CallTexts) -> list[memoryview]:
    """One call's event texts, in its order."""
    out, at = [], where.offset
    for n in where.lengths:
        out.append(blob[at:at + n])
        at += n
    return out


Text = bytes | memoryview
Texts = Sequence[Text]


def store_texts(out: Path, state: State, fresh: Mapping[str, tuple[str, Texts]],
                blob: memoryview) -> None:
    """Record newly rendered calls (call -> (digest, texts)): appended to the blob, or the blob
    rewritten with only the live texts when more than half of it would be stale."""
    if not fresh:
        return
    added = sum(len(t) for _, texts in fresh.values() for t in texts)
    live = state.live_size() - sum(sum(state.calls[c].lengths) for c in fresh
                                   if c in state.calls) + added
    folder = out / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    if state.blob and state.blob_size + added <= 2 * live:
        with open(folder / state.blob, "r+b") as fh:
            fh.truncate(state.blob_size)  # drop what a build that did not finish appended
            fh.seek(state.blob_size)
            for call_id, (digest, texts) in sorted(fresh.items()):
                state.calls[call_id] = CallTexts(digest, fh.tell(), [len(t) for t in texts])
                fh.writelines(texts)
            state.blob_size = fh.tell()
        return
    old = state.blob
    number = int(old.removeprefix("events-").removesuffix(".bin") or 0) + 1 if old else 1
    kept: dict[str, tuple[str, Texts]] = {c: (w.digest, texts_of(blob, w))
                                          for c, w in state.calls.items() if c not in fresh}
    state.blob, state.calls, at = f"events-{number}.bin", {}, 0
    with open(folder / state.blob, "wb") as fh:
        for call_id, (digest, texts) in sorted({**kept, **fresh}.items()):
            lengths = [len(t) for t in texts]
            state.calls[call_id] = CallTexts(digest, at, lengths)
            fh.writelines(texts)
            at += sum(lengths)
    state.blob_size = at


def drop_old_blobs(out: Path, state: State) -> None:
    """Remove blobs the saved state no longer names."""
    for path in (out / FOLDER).glob("events-*.bin"):
        if path.name != state.blob:
            path.unlink(missing_ok=True)
