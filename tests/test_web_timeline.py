"""The call timeline: a pure function of occurrences and `now`, drawn by what is known of each
cut-off, well-formed, escaped, and with the same facts as text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from tests.helpers import CANCEL_MAY
from tests.webkit import SVG, marks
from tracker.models import Rule
from tracker.rules.expand import expand
from tracker.web.timeline import timeline

NOW = datetime(2025, 3, 15, 9, 0, tzinfo=UTC)


def drawn(rule: Rule, now: datetime = NOW) -> ET.Element:
    return ET.fromstring(timeline(expand(rule, now), now, rule.title).svg)


def test_each_cutoff_is_drawn_by_what_is_known_of_it(amended: Callable[[str], Rule]) -> None:
    svg = drawn(amended(CANCEL_MAY))
    cutoffs = marks(svg, "cutoff")
    assert [(g.get("data-day"), g.get("data-status")) for g in cutoffs] == [
        ("2024-11-04", "confirmed"), ("2025-02-01", "moved"), ("2025-05-04", "cancelled"),
        ("2025-08-04", "tentative"), ("2025-11-04", "tentative")]
    assert "past" in (cutoffs[0].get("class") or "") and "past" not in (
        cutoffs[2].get("class") or "")
    assert [g.get("data-day") for g in marks(svg, "opening")] == ["2024-09-10"]
    assert [g.get("data-day") for g in marks(svg, "closing")] == ["2025-12-31"]
    assert len(marks(svg, "milestone")) == 1
    shapes = {g.get("data-status"): {c.tag.removeprefix(SVG) for c in g} for g in cutoffs}
    assert "circle" in shapes["confirmed"] and "path" in shapes["cancelled"]
    today = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "today"]
    assert len(today) == 1 and "2025-03-15" in "".join(today[0].itertext())


def test_text_equivalent_says_the_same_in_date_order(ai_factories: Rule) -> None:
    picture = timeline(expand(ai_factories, NOW), NOW, "AI Factories")
    text = picture.text
    assert text[0].startswith("2024-09-10 opening (opening)")
    assert "2025-02-01 cut-off (moved): AI Factories — cut-off 2, 2025-02-01 17:00 CET " \
           "(first scheduled 2025-02-04)" in text
    assert sum(" cut-off (" in line for line in text) == 5
    svg = ET.fromstring(picture.svg)
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "tl-title tl-desc"
    desc = svg.find(f"{SVG}desc")
    assert desc is not None and "cut-off (moved)" in (desc.text or "")


def test_same_input_same_picture_and_titles_are_escaped(ai_factories: Rule) -> None:
    items = expand(ai_factories, NOW)
    assert timeline(items, NOW).svg == timeline(list(items), NOW).svg  # no clock, no I/O
    nasty = [replace(o, title='<script>alert("x")</script> & co') for o in items]
    svg = timeline(nasty, NOW, "<b>").svg
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    ET.fromstring(svg)  # still well-formed


def test_moving_today_moves_only_the_today_line(ai_factories: Rule) -> None:
    later = datetime(2025, 9, 1, tzinfo=UTC)
    items = expand(ai_factories, NOW)
    before, after = timeline(items, NOW).marks, timeline(items, later).marks
    assert [m.day for m in before] == [m.day for m in after]
    assert timeline([], NOW).marks == [] and "today" in timeline([], NOW).svg
