"""The phrasings of each language table, one short phrase at a time (the issue's examples)."""

# Full-width CJK punctuation is part of the phrases under test.
# ruff: noqa: RUF001

from __future__ import annotations

from datetime import date

import pytest

from tracker.extract import facts
from tracker.extract.dates import find_dates
from tracker.extract.numbers import amounts, cn_int
from tracker.extract.tables import detect, table

PUB = date(2026, 9, 10)


@pytest.mark.parametrize(("lang", "phrase", "key", "quote"), [
    ("en", "on 12 March 2027", "2027-03-12", "12 March 2027"),
    ("en", "on 12 March next year", "2027-03-12", "12 March next year"),
    ("en", "the 3rd of this month", "2026-09-03", "the 3rd of this month"),
    ("en", "next March", "2027-03", "next March"),
    ("en", "last August", "2026-08", "last August"),
    ("en", "in 2026", "2026", "in 2026"),
    ("en", "by the end of 2025", "2025-Q4", "by the end of 2025"),
    ("en", "in March", "2027-03", "in March"),
    ("en", "in the first quarter of 2027", "2027-Q1", "the first quarter of 2027"),
    ("fr", "le 12 mars", "2027-03-12", "12 mars"),
    ("fr", "le 1er juillet 2027", "2027-07-01", "1er juillet 2027"),
    ("fr", "jusqu'à fin juin 2027", "2027-06-30", "fin juin 2027"),
    ("fr", "en mars prochain", "2027-03", "en mars prochain"),
    ("fr", "d'ici la fin de l'année", "2026-Q4", "d'ici la fin de l'année"),
    ("de", "am 12. März", "2027-03-12", "12. März"),
    ("de", "bis Ende 2025", "2025-Q4", "bis Ende 2025"),
    ("de", "im vergangenen August", "2026-08", "im vergangenen August"),
    ("zh", "2027年3月12日", "2027-03-12", "2027年3月12日"),
    ("zh", "二〇二七年三月十二日", "2027-03-12", "二〇二七年三月十二日"),
    ("zh", "明年3月12日", "2027-03-12", "明年3月12日"),
    ("zh", "2025年底", "2025-Q4", "2025年底"),
    ("zh", "去年8月", "2025-08", "去年8月"),
    ("es", "el 12 de marzo de 2027", "2027-03-12", "12 de marzo de 2027"),
    ("it", "il 12 marzo 2027", "2027-03-12", "12 marzo 2027"),
])
def test_dates_with_precision(lang: str, phrase: str, key: str, quote: str) -> None:
    [m] = find_dates(phrase, table(lang), PUB)
    assert m.when is not None and (m.when.key(), m.quote) == (key, quote)


def test_relative_dates_need_the_publication_day() -> None:
    [m] = find_dates("next March", table("en"), None)
    assert m.when is None and "publication day" in m.note


@pytest.mark.parametrize(("lang", "phrase", "every"), [
    ("en", "every two months", "2 months"), ("en", "quarterly", "3 months"),
    ("fr", "tous les six mois", "6 months"), ("fr", "semestriel", "6 months"),
    ("de", "alle drei Monate", "3 months"), ("zh", "每两个月", "2 months"),
    ("zh", "每三個月", "3 months"), ("zh", "每季度", "3 months"),
])
def test_recurrences(lang: str, phrase: str, every: str) -> None:
    found = facts.recurrence(phrase, table(lang))
    assert found is not None and found.value == every


@pytest.mark.parametrize(("lang", "phrase"), [
    ("en", "subject to available budget"), ("en", "while funds last"),
    ("fr", "sous réserve des crédits disponibles"), ("fr", "dans la limite des fonds"),
    ("de", "solange Mittel verfügbar sind"), ("zh", "直至资金用完"),
])
def test_conditions(lang: str, phrase: str) -> None:
    found = facts.condition(f"Cut-offs: {phrase}.", table(lang))
    assert found is not None and found.quote == phrase


@pytest.mark.parametrize(("lang", "phrase", "hour", "zone"), [
    ("en", "at 17:00 Brussels time", "17:00:00", "Europe/Brussels"),
    ("en", "at 5 pm CET", "17:00:00", "Europe/Brussels"),
    ("fr", "à 17h00 heure de Bruxelles", "17:00:00", "Europe/Brussels"),
    ("de", "um 17 Uhr MEZ", "17:00:00", "Europe/Berlin"),
    ("zh", "下午5時（台北時間）", "17:00:00", "Asia/Taipei"),
])
def test_times_and_zones(lang: str, phrase: str, hour: str, zone: str) -> None:
    t = table(lang)
    when, where = facts.deadline_time(phrase, t), facts.zone(phrase, t)
    assert when is not None and when.value.isoformat() == hour
    assert where is not None and where.value == zone


@pytest.mark.parametrize(("lang", "phrase", "value", "currency"), [
    ("en", "EUR 2.5 billion", 2_500_000_000, "EUR"),
    ("en", "€1.2bn", 1_200_000_000, "EUR"),
    ("en", "USD 50 million", 50_000_000, "USD"),
    ("fr", "750 millions d'euros", 750_000_000, "EUR"),
    ("fr", "2 000 000 euros", 2_000_000, "EUR"),
    ("de", "1,5 Mrd. Euro", 1_500_000_000, "EUR"),
    ("de", "1.200 Mio. CHF", 1_200_000_000, "CHF"),
    ("zh", "30亿欧元", 3_000_000_000, "EUR"),
    ("zh", "50 億美元", 5_000_000_000, "USD"),
    ("zh", "一百二十万人民币", 1_200_000, "CNY"),
])
def test_amounts(lang: str, phrase: str, value: int, currency: str) -> None:
    [a] = amounts(f"Budget: {phrase}.", table(lang))
    assert (a.value, a.currency, a.quote) == (value, currency, phrase)


def test_amount_without_currency_is_not_an_amount() -> None:
    assert amounts("Twelve projects, 40 partners, 2.5 years.", table("en")) == []


def test_chinese_numerals() -> None:
    assert [cn_int(s) for s in ("十二", "二〇二七", "两千", "五十", "三万五千")] == \
        [12, 2027, 2000, 50, 35000]


def test_official_identifiers() -> None:
    assert facts.identifiers("Calls EUROHPC-2024-CEI-AI-01 and EUROHPC-2024-CEI-AI-02 "
                             "under HORIZON-CL4 open.") == [
        "EUROHPC-2024-CEI-AI-01", "EUROHPC-2024-CEI-AI-02"]


@pytest.mark.parametrize(("phrase", "lang"), [
    ("The call opens today and closes in March.", "en"),
    ("L'appel est ouvert jusqu'au 12 mars pour les projets.", "fr"),
    ("Die Ausschreibung ist bis zum 12. März für die Projekte offen.", "de"),
    ("征集于2026年12月31日截止，欢迎申请。", "zh-Hans"),
    ("徵件將於2026年12月31日結束，歡迎申請。", "zh-Hant"),
])
def test_language_detection(phrase: str, lang: str) -> None:
    assert detect(phrase) == lang
