"""The extraction: an announcement's sentences -> one typed Draft per call, never a guess."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from tracker.extract import facts
from tracker.extract.dates import Mention, find_dates
from tracker.extract.model import Cutoff, Draft, Fact, MilestoneDraft, Money
from tracker.extract.tables import Phrases, resolve
from tracker.extract.text import Document, Sentence, read, sentences
from tracker.models import Precision

T = TypeVar("T")
_CALL_ROLES = {"opens", "closes", "cutoff", "deadline", "until"}


@dataclass
class _Seen:
    """One sentence with its dates and their roles."""

    s: Sentence
    mentions: list[Mention]
    roles: list[tuple[str, int | None]]
    ids: list[str] = field(default_factory=list)

    @property
    def has_call_date(self) -> bool:
        """True when a date of the sentence opens, closes or cuts off the call."""
        return any(r in _CALL_ROLES for r, _ in self.roles)


def _slug(text: str) -> str:
    flat = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", flat.lower()).strip("-")[:60].strip("-")


def _day_fact(m: Mention, role: str) -> Fact[date] | Fact[str]:
    """A day for a call date; a fuzzy or unplaced date becomes an unplaced note instead."""
    if m.when is None:
        return Fact(role, m.quote, note=m.note)
    if m.when.precision is Precision.DAY:
        return Fact(m.when.first, m.quote, m.confidence, m.note)
    if role == "until":  # "until June 2027": through its last day
        return Fact(m.when.last, m.quote, "medium", "the last day of the period")
    label = m.when.precision.value
    return Fact(role, m.quote, note=f"only a {label} ({m.when.key()}): give the day")


@dataclass
class _Call:
    """What one call's sentences say, gathered before the draft is built."""

    opens: Fact[date] | None = None
    closes: Fact[date] | None = None
    until: Fact[date] | None = None
    cutoffs: list[Cutoff] = field(default_factory=list)
    milestones: list[MilestoneDraft] = field(default_factory=list)
    unplaced: list[Fact[str]] = field(default_factory=list)


def _place(seen: list[_Seen], t: Phrases, published: date | None, recurring: bool) -> _Call:
    call = _Call()
    keys: set[str] = set()
    for item in seen:
        for m, (role, rank) in zip(item.mentions, item.roles, strict=True):
            if role in ("", "opens") and m.when is not None and not item.has_call_date and \
                    m.when.precision is Precision.DAY and m.when.first == published:
                continue  # the dateline: the publication day itself
            if not role:
                if m.when is None:
                    call.unplaced.append(Fact("milestone", m.quote, note=m.note))
                    continue
                title = item.s.text if len(item.s.text) <= 120 else item.s.text[:117] + "..."
                words = re.findall(r"[^\W\d_]+", item.s.text)[:5]
                key = _slug(" ".join(words)) or f"milestone-{m.when.key().lower()}"
                base, n = key, 2
                while key in keys:
                    key, n = f"{base}-{n}", n + 1
                keys.add(key)
                call.milestones.append(MilestoneDraft(
                    key, title, Fact(m.when, m.quote, m.confidence or "medium", m.note),
                    facts.tentative(item.s.text, t)))
                continue
            if role == "deadline":
                role = "cutoff" if rank else "closes"
            if role == "cutoff" and rank == facts.LAST:
                role = "closes"
            if role == "until" and not recurring:
                role = "closes"
            fact = _day_fact(m, role)
            if isinstance(fact.value, str):
                call.unplaced.append(Fact(fact.value, fact.quote, note=fact.note))
            elif not isinstance(fact.value, date):
                continue
            elif role == "cutoff":
                call.cutoffs.append(Cutoff(Fact(fact.value, fact.quote, fact.confidence,
                                                fact.note), rank))
            elif getattr(call, role) is None:
                setattr(call, role, fact)
    return call


def _until(call: _Call, every: Fact[str] | None) -> Fact[date] | None:
    """The stated end of a recurrence, else the closing day: no cut-off can fall after it."""
    if every is None:
        return None
    if call.until is not None or call.closes is None:
        return call.until
    c = call.closes
    return Fact(c.value, c.quote, "medium", "the closing date; the text gives no other end")


def _first(seen: list[_Seen], find: Callable[[str], Fact[T] | None]) -> Fact[T] | None:
    for item in seen:
        got = find(item.s.text)
        if got is not None:
            return got
    return None


def _budget(seen: list[_Seen], t: Phrases) -> tuple[Fact[Money] | None, tuple[Fact[Money], ...]]:
    found = [f for item in seen for f in facts.money(item.s.text, t)]
    if not found:
        return None, ()
    main = next((f for f in found if f.value.share == "total"), found[0])
    return main, tuple(f for f in found if f is not main)


def _segments(seen: list[_Seen]) -> list[list[_Seen]]:
    """One list of sentences per call: a new official identifier after the previous call's
    dates starts the next call."""
    blocks: list[list[_Seen]] = [[]]
    known: set[str] = set()
    for item in seen:
        new = [i for i in item.ids if i not in known]
        block = blocks[-1]
        if new and any(x.ids for x in block) and any(x.has_call_date for x in block):
            blocks.append([])
        blocks[-1].append(item)
        known.update(item.ids)
    return blocks


def _draft(doc: Document, lang: str, t: Phrases, seen: list[_Seen],
           others: tuple[str, ...]) -> Draft:
    text = " ".join(item.s.text for item in seen)
    pub = doc.published
    every = _first(seen, lambda s: facts.recurrence(s, t))
    call = _place(seen, t, pub, every is not None)
    deadline_seen = [x for x in seen if x.has_call_date]
    when = _first(deadline_seen, lambda s: facts.deadline_time(s, t))
    zone = _first(deadline_seen, lambda s: facts.zone(s, t)) or facts.zone(text, t)
    ids = tuple(Fact(i, i) for x in seen for i in x.ids if i not in
                [y for z in seen[:seen.index(x)] for y in z.ids])
    ids = tuple({f.value: f for f in ids}.values())
    name = facts.call_name(text, t)
    title = name or (Fact(doc.title, doc.title, "low", "the announcement's headline")
                     if doc.title else None)
    first: Fact[date] | None = None
    listed = list(call.cutoffs)
    if every is not None and listed:
        pick = next((c for c in listed if c.n == 1), listed[0])
        first = pick.when
        listed.remove(pick)
    budget, parts = _budget(seen, t)
    is_call = bool(ids or call.opens or call.closes or call.cutoffs or every or budget or
                   name or call.unplaced)
    rid = (_slug(ids[0].value) if ids else "") or _slug(
        title.value if title and title.value.isascii() else "") or (
        f"announcement-{pub.isoformat()}" if pub else "draft-call")
    return Draft(
        id=rid, type="call" if is_call or not call.milestones else "milestones", lang=lang,
        published=pub, source_title=doc.title or (title.value if title else "Announcement"),
        source_url=doc.url, title=title, identifiers=ids,
        funder=facts.funder(doc.text, t), opens=call.opens, closes=call.closes,
        deadline_time=when, timezone=zone if when else zone and Fact(
            zone.value, zone.quote, "medium", "no hour found next to it"),
        first=first, every=every, until=_until(call, every),
        condition=_first(seen, lambda s: facts.condition(s, t)), cutoffs=tuple(listed),
        budget=budget, parts=parts, milestones=tuple(call.milestones),
        unplaced=tuple(call.unplaced), other_calls=others)


def drafts(raw: str, *, published: date | None = None, lang: str = "auto") -> list[Draft]:
    """One draft per call described in an announcement (most texts describe one)."""
    doc = read(raw)
    if published is not None:
        doc = Document(doc.text, doc.title, published, doc.url)
    code, t = resolve(lang, doc.text)
    seen: list[_Seen] = []
    for s in sentences(doc.text):
        mentions = find_dates(s.text, t, doc.published)
        seen.append(_Seen(s, mentions, facts.roles(s.text, mentions, t), facts.identifiers(s.text)))
    blocks = [b for b in _segments(seen) if b]
    names = [next((i for x in b for i in x.ids), f"call {n + 1}") for n, b in enumerate(blocks)]
    out: list[Draft] = []
    for n, block in enumerate(blocks or [[]]):
        others = tuple(x for i, x in enumerate(names) if i != n) if len(blocks) > 1 else ()
        out.append(_draft(doc, code, t, block, others))
    return out
