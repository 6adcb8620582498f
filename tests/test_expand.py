"""Expansion: cut-offs at the right instant, status as known on a day, ids that never change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import BRUSSELS, CANCEL_MAY, at, by_id, data_text, load, parse_ok
from tracker.models import Kind, Occurrence, Precision, Rule, Status
from tracker.rules.expand import call_state, expand
from tracker.rules.schedule import recurrence_dates
from tracker.usecases import is_upcoming

NOV = "ai-factories/cutoff/2024-11-04"
FEB = "ai-factories/cutoff/2025-02-04"
MAY = "ai-factories/cutoff/2025-05-04"


def cutoffs(items: list[Occurrence]) -> list[Occurrence]:
    return [o for o in items if o.kind is Kind.CUTOFF]


def cutoff_ids(rule: Rule, now: datetime) -> list[str]:
    return [o.id for o in cutoffs(expand(rule, now))]


# --- time zones ----------------------------------------------------------------------------

def test_17h_brussels_is_16h_utc_in_winter_and_15h_utc_in_summer(ai_factories: Rule) -> None:
    items = by_id(expand(ai_factories, at(date(2024, 10, 1))))
    winter, summer = items[NOV].start, items[MAY].start
    assert isinstance(winter, datetime) and isinstance(summer, datetime)
    assert winter.astimezone(UTC) == datetime(2024, 11, 4, 16, 0, tzinfo=UTC)
    assert summer.astimezone(UTC) == datetime(2025, 5, 4, 15, 0, tzinfo=UTC)
    # and both read 17:00 on the call's own clock
    assert winter.astimezone(BRUSSELS).time() == summer.astimezone(BRUSSELS).time() == time(17)


def test_explicit_time_of_a_cutoff_is_kept() -> None:
    items = by_id(expand(load("two_stage.toml"), at(date(2025, 1, 1))))
    stage2 = items["two-stage-call/cutoff/stage-2"].start
    assert isinstance(stage2, datetime)
    assert stage2 == datetime(2026, 2, 17, 12, 0, tzinfo=BRUSSELS)
    assert stage2.astimezone(UTC).hour == 11


def test_cutoffs_in_another_zone_use_that_zone() -> None:
    rule = load("business_days.toml")
    new_york = ZoneInfo("America/New_York")
    for o in cutoffs(expand(rule, at(date(2025, 1, 1)))):
        assert isinstance(o.start, datetime)
        local = o.start.astimezone(new_york)
        assert local.time() == time(23, 59)
        # 23:59 in New York is already the next day in UTC
        assert o.start.astimezone(UTC).date() == local.date() + timedelta(days=1)


def test_now_must_be_aware(ai_factories: Rule) -> None:
    with pytest.raises(ValueError):
        expand(ai_factories, datetime(2024, 10, 1))


# --- status as known on a day ----------------------------------------------------------------

def test_before_the_amendment_only_the_first_cutoff_is_confirmed(ai_factories: Rule) -> None:
    items = expand(ai_factories, at(date(2024, 10, 1)))
    cuts = cutoffs(items)
    # 2024-11-04, then every 3 months until 2025-12-31
    assert [o.start.date() for o in cuts if isinstance(o.start, datetime)] == [
        date(2024, 11, 4), date(2025, 2, 4), date(2025, 5, 4), date(2025, 8, 4), date(2025, 11, 4)]
    first, *later = cuts
    assert (first.status, first.tentative) == (Status.CONFIRMED, False)
    for o in later:
        assert (o.status, o.tentative) == (Status.TENTATIVE, True)
        assert o.note == "as long as funds are available"
    # the move to 1 February was announced on 2024-12-10: not known yet
    feb = by_id(items)[FEB]
    assert feb.start == datetime(2025, 2, 4, 17, 0, tzinfo=BRUSSELS)
    assert feb.original is None


def test_after_the_amendment_the_feb_cutoff_is_moved_and_keeps_its_id(ai_factories: Rule) -> None:
    feb = by_id(expand(ai_factories, at(date(2025, 1, 1))))[FEB]
    assert feb.start == datetime(2025, 2, 1, 17, 0, tzinfo=BRUSSELS)
    assert feb.status is Status.MOVED
    assert feb.original == datetime(2025, 2, 4, 17, 0, tzinfo=BRUSSELS)
    assert feb.note == "second cut-off brought forward"
    assert cutoff_ids(ai_factories, at(date(2024, 10, 1))) == \
        cutoff_ids(ai_factories, at(date(2025, 1, 1)))


@pytest.mark.parametrize(("now", "applied"), [
    (at(date(2024, 12, 9)), False),
    (at(date(2024, 12, 9), 23, 59), False),
    (at(date(2024, 12, 10)), True),  # --as-of 2024-12-10: the start of the announcement day
    (at(date(2024, 12, 10), 9), True),
])
def test_an_amendment_counts_from_the_day_it_was_announced(ai_factories: Rule, now: datetime,
                                                         applied: bool) -> None:
    feb = by_id(expand(ai_factories, now))[FEB]
    assert (feb.status is Status.MOVED) is applied
    assert isinstance(feb.start, datetime)
    assert feb.start.date() == (date(2025, 2, 1) if applied else date(2025, 2, 4))


def test_a_cutoff_passes_at_its_deadline_not_at_midnight(ai_factories: Rule) -> None:
    def nov(now: datetime) -> Status:
        return by_id(expand(ai_factories, now))[NOV].status

    assert nov(at(date(2024, 11, 4))) is Status.CONFIRMED  # --as-of 2024-11-04
    assert nov(at(date(2024, 11, 4), 16, 59)) is Status.CONFIRMED
    assert nov(at(date(2024, 11, 4), 17, 1)) is Status.PASSED
    assert nov(at(date(2024, 11, 5))) is Status.PASSED


def test_opening_and_closing(ai_factories: Rule) -> None:
    items = by_id(expand(ai_factories, at(date(2024, 9, 10))))
    opening, closing = items["ai-factories/opening"], items["ai-factories/closing"]
    assert opening.start == date(2024, 9, 10) and opening.all_day
    assert closing.start == datetime(2025, 12, 31, 17, 0, tzinfo=BRUSSELS)
    assert opening.status is closing.status is Status.CONFIRMED
    later = by_id(expand(ai_factories, at(date(2024, 9, 11))))
    assert later["ai-factories/opening"].status is Status.PASSED


def test_call_state_follows_the_open_period(ai_factories: Rule) -> None:
    assert call_state(ai_factories, at(date(2024, 9, 1))) == "forthcoming"
    assert call_state(ai_factories, at(date(2024, 9, 10))) == "open"
    assert call_state(ai_factories, at(date(2025, 12, 31), 16, 59)) == "open"
    assert call_state(ai_factories, at(date(2025, 12, 31), 17, 1)) == "closed"


def test_single_call_has_one_deadline_at_its_closing() -> None:
    items = expand(load("single.toml"), at(date(2025, 1, 1)))
    (deadline,) = cutoffs(items)
    assert deadline.id == "single-call/cutoff/deadline"
    assert deadline.title.endswith("deadline")
    assert deadline.start == datetime(2025, 4, 10, 17, 0, tzinfo=BRUSSELS)
    # the deadline is the closing: it is not listed twice
    assert [o.kind for o in items] == [Kind.OPENING, Kind.CUTOFF]


def test_nothing_claims_a_call_is_open_after_its_last_deadline() -> None:
    # stage 2 closes at 12:00 on the closing day: no 'closes' entry at 17:00 after it
    items = expand(load("two_stage.toml"), at(date(2025, 1, 1)))
    last = items[-1]
    assert last.id == "two-stage-call/cutoff/stage-2"
    assert [o.title.rsplit("— ", 1)[1] for o in items] == ["opens", "stage 1", "stage 2"]
    rule = load("two_stage.toml")
    assert call_state(rule, at(date(2026, 2, 17), 11, 59)) == "open"
    assert call_state(rule, at(date(2026, 2, 17), 12, 1)) == "closed"


# --- amendments ------------------------------------------------------------------------------

def test_cancelled_cutoff(amended: Callable[[str], Rule]) -> None:
    rule = amended(CANCEL_MAY)
    before = by_id(expand(rule, at(date(2025, 2, 28))))[MAY]
    after = by_id(expand(rule, at(date(2025, 3, 1))))[MAY]
    assert before.status is Status.TENTATIVE
    assert after.status is Status.CANCELLED
    assert after.note == "budget exhausted"
    assert after.start == before.start


def test_confirm_amendment_makes_a_cutoff_firm(amended: Callable[[str], Rule]) -> None:
    rule = amended('[[amendments]]\naction = "confirm"\nannounced = 2025-03-01\n'
                   "cutoff = 2025-05-04\n")
    assert by_id(expand(rule, at(date(2025, 3, 1))))[MAY].status is Status.CONFIRMED
    assert by_id(expand(rule, at(date(2025, 2, 1))))[MAY].tentative


def test_added_cutoff_appears_from_its_announcement(amended: Callable[[str], Rule]) -> None:
    rule = amended('[[amendments]]\naction = "add"\nannounced = 2025-03-01\nto = 2025-06-16\n')
    added = "ai-factories/cutoff/2025-06-16"
    assert added not in by_id(expand(rule, at(date(2025, 2, 28))))
    new = by_id(expand(rule, at(date(2025, 3, 1))))[added]
    assert new.start == datetime(2025, 6, 16, 17, 0, tzinfo=BRUSSELS)


def test_moved_milestone_keeps_its_id(amended: Callable[[str], Rule]) -> None:
    rule = amended('[[amendments]]\naction = "move"\nannounced = 2025-02-01\n'
                   'milestone = "selection"\nto = "2025-Q2"\n')
    sel = by_id(expand(rule, at(date(2025, 2, 1))))["ai-factories/milestone/selection"]
    assert (sel.precision, sel.when_label(), sel.end) == \
        (Precision.QUARTER, "Q2 2025", date(2025, 6, 30))
    assert sel.status is Status.MOVED
    assert sel.original == date(2025, 1, 1)


def test_milestone_announced_later_is_not_known_before(amended: Callable[[str], Rule]) -> None:
    rule = amended('[[milestones]]\nid = "pilot"\ntitle = "Pilot results"\ndate = 2025-06-30\n'
                   "announced = 2025-01-15\n")
    pilot = "ai-factories/milestone/pilot"
    assert pilot not in by_id(expand(rule, at(date(2025, 1, 14))))
    assert pilot in by_id(expand(rule, at(date(2025, 1, 15))))


# --- stable ids ------------------------------------------------------------------------------

def test_ids_do_not_change_when_unrelated_things_change(ai_factories: Rule) -> None:
    now = at(date(2024, 10, 1))
    text = data_text("recurring_tentative.toml")
    assert 'title = "AI Factories"' in text
    retitled = parse_ok(text.replace('title = "AI Factories"', 'title = "AI Factories call"'))
    more = parse_ok(text + '\n[[milestones]]\nid = "launch"\ntitle = "Launch event"\n'
                    "date = 2024-11-20\n")
    reference = cutoff_ids(ai_factories, now)
    assert cutoff_ids(retitled, now) == reference
    assert cutoff_ids(more, now) == reference
    assert by_id(expand(retitled, now))[NOV].title.startswith("AI Factories call")


def test_an_edited_date_with_a_key_keeps_its_id() -> None:
    text = data_text("two_stage.toml")
    edited = parse_ok(text.replace("2025-09-16", "2025-09-23"))
    stage1 = by_id(expand(edited, at(date(2025, 1, 1))))["two-stage-call/cutoff/stage-1"]
    assert stage1.start == datetime(2025, 9, 23, 17, 0, tzinfo=BRUSSELS)


# --- business days ---------------------------------------------------------------------------

def test_weekend_cutoff_moves_to_the_next_working_day_past_the_holiday() -> None:
    rule = load("business_days.toml")
    items = by_id(expand(rule, at(date(2025, 1, 1))))
    new_york = ZoneInfo("America/New_York")
    # 2025-03-15 is a Saturday and Monday 2025-03-17 a listed holiday -> Tuesday 18 March
    shifted = items["working-days/cutoff/2025-03-15"]
    assert shifted.start == datetime(2025, 3, 18, 23, 59, tzinfo=new_york)
    # Monday 2 June is a working day: unchanged
    assert items["working-days/cutoff/2025-06-02"].start == \
        datetime(2025, 6, 2, 23, 59, tzinfo=new_york)


@pytest.mark.parametrize(("policy", "expected"), [
    ("previous", date(2025, 3, 14)),  # Friday
    ("stay", date(2025, 3, 15)),
])
def test_other_business_day_policies(policy: str, expected: date) -> None:
    text = data_text("business_days.toml").replace('business_days = "next"',
                                                   f'business_days = "{policy}"')
    shifted = by_id(expand(parse_ok(text), at(date(2025, 1, 1))))["working-days/cutoff/2025-03-15"]
    assert isinstance(shifted.start, datetime)
    assert shifted.start.date() == expected


def test_shift_never_goes_past_the_closing_date() -> None:
    # closes on Saturday 2025-06-28 with a cut-off that day: 'next' would be Monday 30 June
    text = data_text("business_days.toml").replace("closes = 2025-06-30", "closes = 2025-06-28")
    text = text.replace("2025-06-02", "2025-06-28")
    last = cutoffs(expand(parse_ok(text), at(date(2025, 1, 1))))[-1]
    assert isinstance(last.start, datetime)
    assert last.start.date() == date(2025, 6, 27)  # the Friday before


def test_shift_never_goes_before_the_opening_date() -> None:
    # opens on Saturday 2025-03-15 with a cut-off that day and policy 'previous': Friday the
    # 14th is before the call opens, so the next working day (Tuesday 18th; 17th is a holiday)
    text = data_text("business_days.toml").replace("opens = 2025-01-06", "opens = 2025-03-15")
    text = text.replace('business_days = "next"', 'business_days = "previous"')
    first = cutoffs(expand(parse_ok(text), at(date(2025, 1, 1))))[0]
    assert first.id == "working-days/cutoff/2025-03-15"
    assert isinstance(first.start, datetime)
    assert first.start.date() == date(2025, 3, 18)


# --- fuzzy milestones --------------------------------------------------------------------------

def test_quarter_milestone_is_not_shown_as_the_first_of_january(ai_factories: Rule) -> None:
    sel = by_id(expand(ai_factories, at(date(2024, 10, 1))))["ai-factories/milestone/selection"]
    assert sel.precision is Precision.QUARTER
    assert sel.end == date(2025, 3, 31) == sel.last_day
    assert sel.when_label() == "Q1 2025"
    assert sel.all_day and sel.tentative


def test_quarter_milestone_is_still_ahead_during_its_quarter(ai_factories: Rule) -> None:
    mid_feb = at(date(2025, 2, 15))
    sel = by_id(expand(ai_factories, mid_feb))["ai-factories/milestone/selection"]
    assert sel.status is not Status.PASSED
    assert is_upcoming(sel, mid_feb)
    april = at(date(2025, 4, 1))
    sel = by_id(expand(ai_factories, april))["ai-factories/milestone/selection"]
    assert sel.status is Status.OVERDUE  # expected in Q1, never confirmed: not just past
    assert not is_upcoming(sel, april)


# --- recurrences -------------------------------------------------------------------------------

def month_end_rule(first: str, every: str) -> Rule:
    return parse_ok(f'''id = "month-end"
title = "Month-end call"
opens = 2024-11-01
closes = 2025-12-31
[cutoffs]
first = {first}
every = "{every}"
until = 2025-12-31
''')


def test_month_end_recurrence_keeps_every_period() -> None:
    # 'every 3 months from 30 November' has a February cut-off even though 30 Feb does not exist
    days = recurrence_dates(month_end_rule("2024-11-30", "3 months"))
    assert [(d.year, d.month) for d in days] == [
        (2024, 11), (2025, 2), (2025, 5), (2025, 8), (2025, 11)]
    assert days[1] == date(2025, 2, 28)
    assert all(d.day == 30 for d in days if d.month != 2)


def test_monthly_recurrence_on_the_31st_has_twelve_cutoffs() -> None:
    days = recurrence_dates(month_end_rule("2025-01-31", "1 month"))
    assert [d.month for d in days] == list(range(1, 13))


def test_count_limits_a_recurrence() -> None:
    rule = parse_ok('id = "counted"\ntitle = "Counted"\nopens = 2025-01-01\n'
                    'closes = 2025-12-31\n[cutoffs]\nfirst = 2025-01-10\nevery = "2 weeks"\n'
                    "count = 4\n")
    assert recurrence_dates(rule) == [date(2025, 1, 10) + timedelta(weeks=2 * i)
                                      for i in range(4)]


def test_expansion_is_the_same_every_time(ai_factories: Rule) -> None:
    now = at(date(2025, 1, 1))
    assert expand(ai_factories, now) == expand(ai_factories, now)
    # the same moment in another zone gives the same answer
    assert expand(ai_factories, now) == expand(ai_factories, now.astimezone(UTC))


EXTENDED = """\
id = "antennas"
title = "Antennas"
opens = 2025-05-22
closes = 2025-07-09
submission = "single"

[cutoffs]
dates = [{ date = 2025-07-09, key = "deadline", label = "deadline" }]

[[amendments]]
action = "move"
announced = 2025-07-01
cutoff = 2025-07-09
closing = true
to = 2025-08-21
"""


def test_an_extension_moves_deadline_and_closing_from_its_announcement_on() -> None:
    rule = parse_ok(EXTENDED)
    before = {o.kind: o for o in expand(rule, at(date(2025, 6, 15)))}
    assert before[Kind.CUTOFF].start == at(date(2025, 7, 9), 17)
    assert Kind.CLOSING not in before  # the deadline is the closing
    assert call_state(rule, at(date(2025, 7, 10))) == "open"  # known then: extended
    assert call_state(rule, datetime(2025, 7, 10, tzinfo=BRUSSELS)) == "open"
    after = by_id(expand(rule, at(date(2025, 7, 15))))
    moved = after["antennas/cutoff/deadline"]
    assert moved.start == at(date(2025, 8, 21), 17)
    assert moved.status is Status.MOVED and moved.original == at(date(2025, 7, 9), 17)
    assert call_state(rule, at(date(2025, 8, 21), 17, 1)) == "closed"


def test_closing_goes_only_with_a_move() -> None:
    from tracker.rules import parse_rule

    rule, problems = parse_rule(EXTENDED.replace('action = "move"', 'action = "cancel"'), "x")
    assert rule is None
    assert any("closing" in p.key for p in problems)
