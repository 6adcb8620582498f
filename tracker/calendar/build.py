"""`tracker feeds build`: write only the feeds whose content changed, in time proportional to
them.

One narrow catalog query gives every event's id, call, kind, start, SEQUENCE and LAST-MODIFIED
and every call's revision and tags. A call's digest covers what its events' texts are made of
(those, each event's newest history line, the call's revision and tags); a feed's key covers its
names, address and the digests of the calls it draws on (with how many events its window
keeps). A feed whose key and files are as the last build left them is not touched. Only calls
whose digest changed are read back and rendered; the texts of the others come from the blob of
the last build (buildstate.py). A feed whose bytes change gets as Last-Modified the newest
change of its events, always later than the one it had (the build's `now` when only its
membership changed: an event left the window, a call lost a tag).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tracker import store as db
from tracker.calendar import buildstate, events, feeds, files
from tracker.calendar.buildstate import FeedRecord, State, Text, Texts
from tracker.models import Kind, Revision
from tracker.store.engine import file_lock
from tracker.store.feedrows import (
    Catalog,
    as_instant,
    catalog,
    changes_of,
    occurrences_of,
)
from tracker.urls import webcal

LOCK_WAIT = 600.0  # seconds a build waits for another one writing the same folder
Todo = tuple[feeds.FeedSpec, list[str], str, str]  # a feed to assemble: calls, url, key
Written = tuple[str, str, str, int, Future[tuple[int, int]]]  # path, key, digest, mtime, sizes


@dataclass
class Plan:
    """The catalog's events by call and tag, each call's digest, and the texts at hand (all
    by an event's place in the one order)."""

    cat: Catalog
    by_call: dict[str, list[int]] = field(default_factory=dict)
    tagged: dict[str, set[str]] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    parts: dict[str, bytes] = field(default_factory=dict)  # call -> its part of feed keys
    recent: dict[str, int] = field(default_factory=dict)  # call -> events "all" keeps
    texts: list[Text] = field(default_factory=list)

    def __post_init__(self) -> None:
        ev = self.cat.events
        by_call = self.by_call
        for pos, call_id in enumerate(ev.calls):
            mine = by_call.get(call_id)
            if mine is None:
                mine = by_call[call_id] = []
            mine.append(pos)
        last = self.cat.last_change
        for call_id, call in self.cat.calls.items():
            for tag in call.tags:
                self.tagged.setdefault(tag, set()).add(call_id)
            mine = by_call.get(call_id, [])
            made_of = (call.revision, call.modified, call.tags, [ev.ids[p] for p in mine],
                       [ev.sequences[p] for p in mine], [ev.modified[p] for p in mine],
                       [last.get(ev.ids[p], 0) for p in mine])
            digest = hashlib.blake2b(repr(made_of).encode(), digest_size=12).hexdigest()
            self.digests[call_id] = digest
            self.parts[call_id] = f"\x1e{call_id}|{digest}".encode()
            self.recent[call_id] = sum(1 for p in mine if ev.recent[p])

    def members(self, spec: feeds.FeedSpec) -> list[str]:
        """The calls a feed draws on, sorted."""
        f = spec.filter
        if f.calls:
            return sorted(c for c in f.calls if c in self.cat.calls)
        if f.tags:
            return sorted(set().union(*(self.tagged.get(t, set()) for t in f.tags)))
        return sorted(self.cat.calls)

    def held(self, spec: feeds.FeedSpec, calls: Iterable[str]) -> list[int]:
        """The events a feed holds, in the one order."""
        by_call = self.by_call
        out = [p for c in calls for p in by_call.get(c, ())]
        if spec.filter.kinds:
            kinds, of = {k.value for k in spec.filter.kinds}, self.cat.events.kinds
            out = [p for p in out if of[p] in kinds]
        if spec.since is not None:
            recent = self.cat.events.recent
            out = [p for p in out if recent[p]]
        out.sort()
        return out

    def key(self, spec: feeds.FeedSpec, calls: list[str], url: str, rendering: str) -> str:
        """What a feed's bytes are made of, as a digest."""
        h = hashlib.blake2b(f"{rendering}|{spec.path}|{spec.title}|{spec.description}|{url}|"
                            f"{spec.filter.kinds}".encode(), digest_size=12)
        h.update(b"".join([self.parts[c] for c in calls]))
        if spec.since is not None:
            h.update(repr([self.recent[c] for c in calls]).encode())
        return h.hexdigest()

    def have(self, call_id: str, texts: Texts) -> None:
        """The texts of one call's events are at hand."""
        for p, text in zip(self.by_call.get(call_id, ()), texts, strict=True):
            self.texts[p] = text

    def body(self, spec: feeds.FeedSpec, held: list[int], url: str) -> bytes:
        """One feed's bytes from the texts at hand: VTIMEZONEs as `events.calendar` chooses
        them (the local years of the first and of the first latest timed event)."""
        ev = self.cat.events
        zones_of = ev.zones
        timed = [p for p in held if zones_of[p]]
        zones: list[bytes] = []
        if timed:
            end, starts = len(timed) - 1, ev.starts
            while end > 0 and starts[timed[end - 1]] == starts[timed[-1]]:
                end -= 1
            zones = events.zones({zones_of[p] for p in timed}, int(ev.years[timed[0]]),
                                 int(ev.years[timed[end]]))
        texts = self.texts
        return events.assemble(events.head(spec.title, spec.description, url), zones,
                               [texts[p] for p in held])


def rendered(store: db.Store, plan: Plan, call_ids: list[str]) \
        -> Iterator[dict[str, list[bytes]]]:
    """Render the events of these calls (those that changed since the last build), a batch of
    calls at a time: call -> texts in the one order."""
    ev = plan.cat.events
    with store.read() as conn:
        stories = changes_of(conn, call_ids)
        tags = {c: call.tags for c, call in plan.cat.calls.items()}
        for batch, records in occurrences_of(conn, call_ids, feeds.EPOCH, tags):
            found = {o.id: o for o in batch}
            fresh: dict[str, list[bytes]] = {c: [] for c in records}
            for call_id, texts in fresh.items():
                call = records[call_id]
                budget = f"Budget: {call.budget_label()}" if call.budget_label() else ""
                for p in plan.by_call.get(call_id, ()):
                    o = found[ev.ids[p]]
                    extra = [budget] if budget and o.kind is not Kind.MILESTONE else []
                    if o.id in stories:
                        extra.append(feeds.describe(stories[o.id], o.timezone))
                    revision = Revision(ev.sequences[p], as_instant(ev.modified[p]))
                    texts.append(events.event_bytes(o, feeds.EPOCH, revision, extra))
            yield fresh


def _seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def last_modified(plan: Plan, held: list[int], before: FeedRecord | None, now: datetime) -> int:
    """A rewritten feed's Last-Modified (s): the newest change of its events, and later than
    the one it had (else the build's time)."""
    of = plan.cat.events.modified
    newest: Any = max((of[p] for p in held), default=None)
    moment = _seconds(as_instant(newest)) if newest is not None else _seconds(feeds.EPOCH)
    if before is not None and moment <= before.modified:
        moment = max(_seconds(now), before.modified + 1)
    return moment


def build_feeds(store: db.Store, out: Path, base_url: str, now: datetime) -> files.WriteReport:
    """Write every feed whose content changed and the index of the distinct ones under `out`
    (one build at a time per folder)."""
    (out / buildstate.FOLDER).mkdir(parents=True, exist_ok=True)
    with file_lock(str(out / buildstate.FOLDER / "lock"), LOCK_WAIT, "feeds build",
                   f"another feeds build{{holder}} is writing to {out}; try again later"):
        return _build(store, out, base_url, now)


def _build(store: db.Store, out: Path, base_url: str, now: datetime) -> files.WriteReport:
    rendering = buildstate.renderer()
    state = buildstate.load(out, rendering)
    with store.read() as conn:
        plan = Plan(catalog(conn, feeds.window_start(now)))
    specs = feeds.specs_of(plan.cat.calls, now)
    report = files.WriteReport()
    kept = State(rendering, state.blob, state.blob_size,
                 {c: w for c, w in state.calls.items() if c in plan.cat.calls})
    todo, keys, members = [], [], []
    for spec in specs:
        url = feeds.feed_url(base_url, spec)
        calls = plan.members(spec)
        members.append((spec, calls))
        key = plan.key(spec, calls, url, rendering)
        keys.append(key)
        before = state.feeds.get(spec.path)
        if before is not None and before.key == key and files.intact(
                f"{out}/{spec.path}.ics", before.size, before.gz_size, before.modified):
            kept.feeds[spec.path] = before
        else:
            todo.append((spec, calls, url, key))
    stale = sorted(c for c in plan.cat.calls if c not in kept.calls
                   or kept.calls[c].digest != plan.digests[c]
                   or len(kept.calls[c].lengths) != len(plan.by_call.get(c, ())))
    blob = buildstate.read_blob(out, kept) if todo or stale else memoryview(b"")
    plan.texts = [b""] * len(plan.cat.events.ids)
    for c in {c for _, calls, _, _ in todo for c in calls} - set(stale):
        plan.have(c, buildstate.texts_of(blob, kept.calls[c]))
    alone: dict[str, list[Todo]] = {}  # feeds of one call: written as soon as it is rendered
    for item in todo:
        if len(item[1]) == 1:
            alone.setdefault(item[1][0], []).append(item)
    fresh: dict[str, list[bytes]] = {}
    writes: list[Written] = []
    with files.Writer() as writer:
        for batch in rendered(store, plan, stale):
            for c, texts in batch.items():
                plan.have(c, texts)
                fresh[c] = texts
                for item in alone.pop(c, []):
                    writes += _write(out, plan, item, state, kept, writer, now)
        for item in todo:
            if len(item[1]) != 1 or item[1][0] in alone:
                writes += _write(out, plan, item, state, kept, writer, now)
    order = {spec.path: n for n, spec in enumerate(specs)}
    for path, key, digest, modified, future in sorted(writes, key=lambda w: order[w[0]]):
        size, gz_size = future.result()
        kept.feeds[path] = FeedRecord(key, digest, modified, size, gz_size)
        report.written.append(f"{path}.ics")
    written = {w[0] for w in writes}
    report.unchanged += [f"{spec.path}.ics" for spec in specs if spec.path not in written]
    buildstate.store_texts(out, kept, {c: (plan.digests[c], t) for c, t in fresh.items()}, blob)
    kept.index = hashlib.blake2b("|".join(keys).encode(), digest_size=12).hexdigest()
    if kept.index != state.index or not (out / files.INDEX).exists():
        files.write_index(out, _index(plan, members, base_url), report)
    else:
        report.unchanged.append(files.INDEX)
    if kept != state:
        buildstate.save(out, kept)
        buildstate.drop_old_blobs(out, kept)
    return report


def _write(out: Path, plan: Plan, item: Todo, state: State, kept: State, writer: files.Writer,
           now: datetime) -> list[Written]:
    """Assemble one feed; queue its writing (and its copy's) unless the same bytes are in
    place (then it is recorded as unchanged)."""
    spec, calls, url, key = item
    held = plan.held(spec, calls)
    data = plan.body(spec, held, url)
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    path = out / f"{spec.path}.ics"
    before = state.feeds.get(spec.path)
    if before is not None and before.digest == digest:
        if files.intact(str(path), before.size, before.gz_size, before.modified):
            kept.feeds[spec.path] = FeedRecord(key, digest, before.modified, before.size,
                                               before.gz_size)
            return []
        modified = before.modified
    else:
        modified = last_modified(plan, held, before, now)
    return [(spec.path, key, digest, modified, writer.submit(path, data, modified))]


def _index(plan: Plan, found: list[tuple[feeds.FeedSpec, list[str]]], base_url: str) \
        -> list[dict[str, Any]]:
    """index.json's list: one feed per distinct content (the first, most specific, of feeds
    holding the same events), each with its address and number of events. Calls' events are
    disjoint, so feeds holding whole calls are the same when they hold the same calls."""
    entries, seen = [], set()
    by_call, ids = plan.by_call, plan.cat.events.ids
    for spec, calls in found:
        whole = [c for c in calls if c in by_call]
        count = sum(len(by_call[c]) for c in whole)
        ident: object = tuple(whole)
        if spec.filter.kinds or spec.since is not None:
            held = plan.held(spec, whole)
            if len(held) < count:  # not whole calls: no feed of whole calls holds the same
                ident, count = frozenset(ids[p] for p in held), len(held)
        if count == 0 or ident in seen:
            continue
        seen.add(ident)
        url = feeds.feed_url(base_url, spec)
        entries.append({"path": f"{spec.path}.ics", "title": spec.title,
                        "description": spec.description, "url": url, "webcal": webcal(url),
                        "events": count})
    return entries
