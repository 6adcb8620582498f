"""`tracker extract`'s core: drafts from the test announcements in tests/data/announcements.

Each announcement was written for these tests. A draft must quote its sources, leave
placeholders for what the text does not say, and pass `tracker check` once they are filled.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tracker.extract import draft, drafts, to_json, to_toml
from tracker.rules import parse_rule

ANNOUNCEMENTS = Path(__file__).parent / "data" / "announcements"
PLACEHOLDER = re.compile(r"^# (\w+) = \?.*$", re.M)


def text(name: str) -> str:
    """One test announcement."""
    return (ANNOUNCEMENTS / name).read_text(encoding="utf-8")


def facts(name: str, **kw: Any) -> dict[str, Any]:
    """The JSON draft of an announcement, as a user of --format json sees it."""
    data = json.loads(to_json(draft(text(name), **kw)))
    assert isinstance(data, dict)
    return data


def value(data: dict[str, Any], key: str) -> Any:
    """The value of one extracted fact, or None when it was not found."""
    f = data[key]
    return None if f is None else f["value"]


def placeholders(toml: str) -> list[str]:
    """The keys a draft left as '# key = ?' placeholders."""
    return PLACEHOLDER.findall(toml)


def fill(toml: str, values: dict[str, str]) -> str:
    """The draft with its placeholders replaced by values, as a person would fill them."""
    missing = set(placeholders(toml)) - set(values)
    assert not missing, f"no value to fill {missing}"
    return PLACEHOLDER.sub(lambda m: f"{m.group(1)} = {values[m.group(1)]}"
                           if m.group(1) in values else m.group(0), toml)


def check_ok(toml: str) -> None:
    """`tracker check` accepts the rule file."""
    rule, problems = parse_rule(toml, "draft.toml")
    assert not problems, "\n".join(map(str, problems)) + "\n" + toml
    assert rule is not None


def line_of(toml: str, key: str) -> str:
    """The line that sets `key` (first one)."""
    found = re.search(rf"^{re.escape(key)} = .*$", toml, re.M)
    assert found, f"no {key} in\n{toml}"
    return found.group()


# --- The two "done when" cases ------------------------------------------------------------

def test_french_rolling_call_has_all_four_facts_with_quotes() -> None:
    toml = to_toml(draft(text("fr_rolling_call.md")))
    assert line_of(toml, "first") == 'first = 2025-03-14  # "14 mars 2025"'
    assert line_of(toml, "every") == 'every = "2 months"  # "tous les deux mois"'
    assert line_of(toml, "condition").startswith(
        'condition = "sous réserve des crédits disponibles"  # "sous réserve des crédits')
    assert line_of(toml, "closes") == 'closes = 2025-12-15  # "15 décembre 2025"'
    assert line_of(toml, "amount") == "amount = 750_000_000  # \"environ 750 millions d'euros\""
    assert "approximate = true" in toml
    assert line_of(toml, "until").startswith('until = 2025-11-30  # "fin novembre 2025"')
    assert line_of(toml, "deadline_time") == 'deadline_time = 17:00:00  # "17h00"'
    assert line_of(toml, "timezone") == 'timezone = "Europe/Brussels"  # "heure de Bruxelles"'
    assert 'announcement = { title = "Lancement' in toml and "published = 2025-01-15" in toml
    assert placeholders(toml) == []
    check_ok(toml)


def test_traditional_chinese_call_has_year_milestone_and_amount() -> None:
    d = facts("zh_hant_rolling_call.txt")
    assert d["lang"] == "zh-Hant"
    assert d["budget"]["value"] == {"amount": 5_000_000_000, "currency": "TWD",
                                    "approximate": True, "share": "total"}
    assert d["budget"]["quote"] == "約50億新臺幣"
    [m] = d["milestones"]
    assert m["value"] == {"date": "2027", "precision": "year"}
    assert m["quote"] == "2027年" and m["tentative"] is True
    assert value(d, "first") == "2025-04-30"
    assert value(d, "every") == "3 months"
    assert value(d, "condition") == "直至資金用完"
    assert value(d, "closes") == "2026-01-31"
    assert value(d, "deadline_time") == "17:00:00" and value(d, "timezone") == "Asia/Taipei"
    toml = to_toml(draft(text("zh_hant_rolling_call.txt")))
    assert 'date = "2027"  # "2027年"' in toml
    check_ok(toml)


# --- Every announcement, per language -----------------------------------------------------

CASES: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    ("en_rolling_call.txt",
     {"title": "Coastal AI Testbeds call for proposals", "funder": "Harbour Compute Agency",
      "first": "2026-03-16", "every": "3 months", "until": "2026-12-15",
      "closes": "2026-12-15", "condition": "as long as funds are available",
      "deadline_time": "17:00:00", "timezone": "Europe/Brussels"}, {}),
    ("en_relative.md",
     {"opens": "2025-09-03", "closes": "2026-03-12", "deadline_time": "17:00:00",
      "timezone": "Europe/Brussels", "title": "Open Seas call"}, {}),
    ("en_two_calls.html",
     {"opens": "2026-03-01", "closes": "2026-06-30", "deadline_time": "12:00:00",
      "funder": "Lakeside Research Council"}, {}),
    ("en_no_dates.txt", {"opens": None, "closes": None, "budget": None, "title": None},
     {"title": '"Community energy"', "closes": "2026-06-30"}),
    ("fr_relative.txt",
     {"closes": "2026-03-12", "deadline_time": "12:00:00", "every": "6 months",
      "funder": "Région Bretagne-Sud"}, {"first": "2025-12-01"}),
    ("fr_no_dates.txt",
     {"closes": None, "condition": "dans la limite des fonds disponibles",
      "funder": "Ministère de la Transition écologique"},
     {"title": '"Ateliers de réparation"', "closes": "2026-06-30"}),
    ("de_rolling_call.txt",
     {"first": "2026-03-12", "every": "3 months", "until": "2026-12-12",
      "closes": "2026-12-31", "condition": "vorbehaltlich verfügbarer Mittel",
      "deadline_time": "17:00:00", "timezone": "Europe/Brussels",
      "funder": "Bundesministerium für Bildung und Forschung"}, {}),
    ("de_relative.md",
     {"closes": "2026-03-12", "deadline_time": "12:00:00", "title": "Bergschulen 2026"}, {}),
    ("de_two_calls.txt", {"opens": "2026-02-02", "closes": "2026-04-30"}, {}),
    ("zh_hans_rolling_call.txt",
     {"first": "2026-03-12", "every": "2 months", "closes": "2026-12-31",
      "condition": "直至资金用完", "title": "海港人工智能工厂征集计划",
      "funder": "欧洲海港算力联合执行体"}, {"opens": "2026-02-01"}),
    ("zh_hans_relative.txt",
     {"opens": "2025-09-03", "closes": "2026-03-12", "title": "青年实验室计划"}, {}),
    ("zh_hans_no_dates.txt", {"closes": None, "funder": "国家能源委员会"},
     {"title": '"社区储能专项资金"', "closes": "2026-06-30"}),
    ("zh_hant_numerals.txt", {"closes": "2026-03-12", "title": "邊境運算站計畫"}, {}),
    ("zh_hant_two_calls.txt", {"opens": "2026-03-01", "closes": "2026-06-30"}, {}),
]


@pytest.mark.parametrize(("name", "expected", "filled"), CASES, ids=[c[0] for c in CASES])
def test_extracted_values_and_filled_draft_passes_check(
        name: str, expected: dict[str, Any], filled: dict[str, str]) -> None:
    d = facts(name)
    for key, want in expected.items():
        assert value(d, key) == want, (key, d[key])
    toml = to_toml(draft(text(name)))
    check_ok(fill(toml, {"deadline_time": "17:00:00", "timezone": '"Europe/Brussels"',
                         **filled}))


def test_every_value_line_quotes_its_words() -> None:
    for path in sorted(ANNOUNCEMENTS.iterdir()):
        toml = to_toml(draft(path.read_text(encoding="utf-8")))
        for line in toml.splitlines():
            key = line.split(" = ")[0]
            if key in ("opens", "closes", "first", "until", "every", "condition", "amount",
                       "deadline_time", "funder", "date"):
                assert re.search(r'  # ".+"', line), f"{path.name}: no quote in {line!r}"


def test_languages_are_detected() -> None:
    found = {p.name: draft(p.read_text(encoding="utf-8")).lang
             for p in ANNOUNCEMENTS.iterdir()}
    for name, lang in found.items():
        want = name.split("_")[0] if not name.startswith("zh") else \
            {"hans": "zh-Hans", "hant": "zh-Hant"}[name.split("_")[1]]
        assert lang == want, name


# --- Placeholders, never guesses ----------------------------------------------------------

def test_no_dates_gives_placeholders_not_guesses() -> None:
    toml = to_toml(draft(text("en_no_dates.txt")))
    assert "# closes = ?  (no closing date found)" in toml
    assert "# deadline_time = ?  (no time found; the tracker assumes 17:00 in the call's zone)" \
        in toml
    assert "# title = ?  (no call name found)" in toml
    assert "# no budget found" in toml
    assert "[cutoffs]" not in toml


def test_relative_date_without_publication_day_is_a_placeholder() -> None:
    toml = to_toml(draft(text("zh_hans_rolling_call.txt")))
    assert '# opens = ?  (found "今天", which needs the publication day' in toml
    with_day = draft(text("zh_hans_rolling_call.txt"), published=date(2026, 2, 1))
    assert with_day.opens is not None and with_day.opens.value == date(2026, 2, 1)


def test_year_taken_from_publication_day_is_marked_as_a_judgement() -> None:
    toml = to_toml(draft(text("de_relative.md")))
    assert line_of(toml, "closes") == ('closes = 2026-03-12  # "12. März"  (confidence: medium; '
                                       "year taken from the publication day)")


def test_published_option_overrides_front_matter() -> None:
    d = draft(text("en_relative.md"), published=date(2025, 11, 5))
    assert d.published == date(2025, 11, 5)
    assert d.opens is not None and d.opens.value == date(2025, 11, 3)  # "3rd of this month"


def test_a_fuzzy_date_stays_fuzzy() -> None:
    d = facts("en_relative.md")
    assert [(m["value"]["date"], m["quote"]) for m in d["milestones"]] == [
        ("2025-08", "last August"), ("2026-03", "next March"),
        ("2026-Q4", "by the end of 2026")]
    de = facts("de_relative.md")
    assert [m["value"] for m in de["milestones"]] == [
        {"date": "2026-03", "precision": "month"}, {"date": "2025-Q4", "precision": "quarter"},
        {"date": "2027", "precision": "year"}]


def test_a_month_is_not_made_into_a_closing_day() -> None:
    toml = to_toml(draft("The call closes in March 2027.", published=date(2026, 5, 1)))
    assert '# closes = ?  (found "March 2027", but it is only a month (2027-03): give the day)' \
        in toml


# --- Amounts --------------------------------------------------------------------------------

def test_amount_shares_and_other_currencies() -> None:
    en = facts("en_rolling_call.txt")["budget"]
    assert en["value"] == {"amount": 2_500_000_000, "currency": "EUR", "approximate": False,
                           "share": "funder"}
    assert "funder's share, not the total" in to_toml(draft(text("en_rolling_call.txt")))
    zh = facts("zh_hant_numerals.txt")
    assert zh["budget"]["value"]["amount"] == 5_000_000_000
    assert zh["budget"]["value"]["share"] == "total"
    assert [p["value"]["amount"] for p in zh["budget_parts"]] == [2_000_000_000]
    assert facts("fr_relative.txt")["budget"]["value"]["currency"] == "CAD"
    assert facts("de_relative.md")["budget"]["value"] == {
        "amount": 300_000_000, "currency": "CHF", "approximate": True, "share": None}
    assert facts("zh_hans_relative.txt")["budget"]["value"]["currency"] == "USD"


# --- Two calls in one text ----------------------------------------------------------------

@pytest.mark.parametrize("name", ["en_two_calls.html", "de_two_calls.txt",
                                  "zh_hant_two_calls.txt"])
def test_two_calls_give_two_drafts_and_call_picks_one(name: str) -> None:
    both = drafts(text(name))
    assert len(both) == 2
    first, second = both
    assert first.identifiers[0].value != second.identifiers[0].value
    assert first.closes and second.closes and first.closes.value < second.closes.value
    assert first.budget and second.budget and first.budget.value != second.budget.value
    assert f"The others: {second.identifiers[0].value} (use --call)" in to_toml(first)
    picked = draft(text(name), call=second.identifiers[0].value.lower(), rule_id="second-call")
    assert picked.id == "second-call" and picked.closes == second.closes
    assert draft(text(name), call="2").closes == second.closes
    check_ok(fill(to_toml(picked), {"deadline_time": "17:00:00",
                                    "timezone": '"Europe/Brussels"'}))
