"""Announcement -> draft rule: dates, deadlines, recurrences, conditions, amounts and names read
from the prose people receive (en, fr, de, es, it, zh), each with the words it came from.

`draft` reads one call, `to_toml` / `to_json` render it, `against` proposes amendments to an
existing rule. The phrasings live in one table per language (`lang_*.py`).
"""

from __future__ import annotations

import dataclasses
from datetime import date
from importlib import import_module
from typing import TYPE_CHECKING, Any

from tracker.errors import UsageError

if TYPE_CHECKING:
    from tracker.extract.model import Draft

_HOMES = {"against": "compare", "drafts": "find", "Draft": "model", "Fact": "model",
          "to_json": "render", "to_toml": "render"}


def __getattr__(name: str) -> Any:
    """Names are imported from their module on first use: `tracker --help` stays light."""
    if name not in _HOMES:
        raise AttributeError(f"module 'tracker.extract' has no attribute {name!r}")
    return getattr(import_module(f"tracker.extract.{_HOMES[name]}"), name)

__all__ = ["Draft", "Fact", "against", "draft", "drafts", "to_json", "to_toml"]


def draft(text: str, *, published: date | None = None, lang: str = "auto",
          rule_id: str | None = None, call: str | None = None) -> Draft:
    """The draft of one call of an announcement; `call` picks one (identifier or number)."""
    from tracker.extract.find import drafts

    found = drafts(text, published=published, lang=lang)
    chosen = found[0]
    if call:
        names = [d.identifiers[0].value if d.identifiers else "" for d in found]
        hits = [d for d, name in zip(found, names, strict=True) if name.lower() == call.lower()]
        if call.isdigit() and 1 <= int(call) <= len(found):
            hits = [found[int(call) - 1]]
        if not hits:
            listed = ", ".join(n or str(i + 1) for i, n in enumerate(names))
            raise UsageError(f"--call {call}: no such call in the announcement; it has: {listed}")
        chosen = hits[0]
    if rule_id:
        chosen = dataclasses.replace(chosen, id=rule_id)
    return chosen
