"""What a digest tells has changed: history since the subscriber's last digest, read once per
distinct starting point and filtered once per distinct filter (through an index, not a scan).

A digest tells the changes recorded since the previous one (counted by revision id, so a sync
that lands while a digest is prepared is told next time, never skipped) and, once, each
expected item that became overdue since then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from tracker import changes as history
from tracker import store as db
from tracker.mail.index import Index, Selection, change_keys, occurrence_keys
from tracker.models import Change, ChangeKind, Filter, Occurrence, Subscription

Told = tuple[Change, Occurrence | None, str]  # a change, its item (None: the call), a title


class Book:
    """One stretch of history, collapsed once, indexed by call, tag and kind."""

    def __init__(self, raw: Sequence[Change], everything: Mapping[str, Occurrence],
                 calls: Mapping[str, db.CallRecord]) -> None:
        new_calls = {(c.call_id, c.detected_at) for c in raw if c.entity == "call"
                     and c.change is ChangeKind.ADDED}
        lines: list[tuple[Told, list[tuple[str, str]]]] = []
        for c in history.collapse(list(raw)):
            if c.change is ChangeKind.BASELINE:
                continue
            if c.entity == "occurrence":
                occ = everything.get(c.entity_id)
                if occ is None or (c.change is ChangeKind.ADDED
                                   and (c.call_id, c.detected_at) in new_calls):
                    continue  # gone, or the new call's own line says it
                lines.append(((c, occ, occ.title), occurrence_keys(occ)))
            else:
                call = calls.get(c.call_id)
                if call is not None:
                    lines.append(((c, None, call.title),
                                  change_keys(call.id, call.tags, None)))
        self._calls = calls
        self._index = Index(lines, lambda line: line[1])
        self._done: dict[Filter, list[Told]] = {}

    def followed(self, f: Filter) -> list[Told]:
        """The lines `f` follows, in the order they were recorded."""
        found = self._done.get(f)
        if found is None:
            found = [told for told, _ in self._index.candidates(f) if self._passes(f, told)]
            self._done[f] = found
        return found

    def _passes(self, f: Filter, told: Told) -> bool:
        change, occ, _ = told
        if occ is not None:
            return f.matches(occ)
        return f.matches_call(change.call_id, self._calls[change.call_id].tags)


def _start(sub: Subscription) -> tuple[str, object]:
    """Where a subscriber's untold history begins."""
    if sub.last_revision_id is not None:
        return "after", sub.last_revision_id
    if sub.last_digest_at is not None:  # a digest queued before revision marks existed
        return "strictly-after", sub.last_digest_at
    return "since", sub.created_at


class News:
    """Each subscriber's untold changes in one queue run; history is read once per start."""

    def __init__(self, store: db.Store, mark: int, everything: Mapping[str, Occurrence],
                 calls: Mapping[str, db.CallRecord]) -> None:
        self.store, self.mark, self.everything, self.calls = store, mark, everything, calls
        self._books: dict[tuple[str, object], Book] = {}

    def start(self, sub: Subscription) -> tuple[str, object]:
        """The key of the stretch of history `sub` is told (equal keys: equal lines)."""
        return _start(sub)

    def told(self, sub: Subscription) -> list[Told]:
        """Changes recorded after this subscriber's last digest (or subscription), up to the
        run's mark, that the subscriber follows."""
        key = _start(sub)
        book = self._books.get(key)
        if book is None:
            book = Book(self._read(key), self.everything, self.calls)
            self._books[key] = book
        return book.followed(sub.filter)

    def _read(self, key: tuple[str, object]) -> list[Change]:
        how, value = key
        if how == "after":
            assert isinstance(value, int)
            return db.changes_since(self.store, None, after_id=value, upto_id=self.mark)
        assert value is None or isinstance(value, datetime)
        return db.changes_since(self.store, value, strictly_after=how == "strictly-after",
                                upto_id=self.mark)


def became_overdue(sel: Selection, since: datetime | None, now: datetime) -> list[Told]:
    """Followed items that turned overdue after `since`: told once, in the next digest."""
    return [(Change("occurrence", o.id, o.call_id, ChangeKind.CHANGED, "status",
                    o.standing.value, "overdue", moment, announced=moment.date()), o, o.title)
            for moment, o in sel.turned_overdue(since, now)]
