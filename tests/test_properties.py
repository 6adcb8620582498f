"""Properties of expansion over generated rule files: order, ids, open period, wall-clock time."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import parse_ok
from tracker.models import Kind, Rule
from tracker.rules.expand import expand
from tracker.rules.schedule import recurrence_dates

ZONES = ("Europe/Brussels", "America/New_York", "Australia/Sydney", "UTC")
# no deadline between 00:00 and 03:59: those hours can fall in a DST gap in these zones
DEADLINES = st.builds(time, st.integers(4, 23), st.sampled_from([0, 15, 30, 59]))
FAST = settings(max_examples=150, deadline=None)


@dataclass(frozen=True)
class Spec:
    """A generated call, written out as a rule file by `toml()`."""

    zone: str
    deadline: time
    opens: date
    closes: date
    dates: tuple[date, ...]
    recurrence: tuple[date, int, str, date, int | None] | None  # first, n, unit, until, count
    condition: bool
    business_days: str
    holidays: tuple[date, ...]
    move: tuple[date, date, date] | None  # cutoff, to, announced
    cancel: tuple[date, date] | None  # cutoff, announced
    milestones: tuple[str, ...]

    def toml(self) -> str:
        lines = [
            'id = "generated"',
            'title = "Generated call"',
            f'timezone = "{self.zone}"',
            f"deadline_time = {self.deadline.isoformat()}",
            f"opens = {self.opens}",
            f"closes = {self.closes}",
            'submission = "multiple-cutoff"',
            "",
            "[cutoffs]",
            f'business_days = "{self.business_days}"',
            f"holidays = [{', '.join(map(str, self.holidays))}]",
        ]
        if self.dates:
            lines.append(f"dates = [{', '.join(map(str, self.dates))}]")
        if self.recurrence:
            first, n, unit, until, count = self.recurrence
            lines += [f"first = {first}", f'every = "{n} {unit}"', f"until = {until}"]
            if count is not None:
                lines.append(f"count = {count}")
        if self.condition:
            lines += ['condition = "as long as funds are available"',
                      f"confirmed = [{self.scheduled()[0]}]"]
        if self.move:
            cutoff, to, announced = self.move
            lines += ["", "[[amendments]]", 'action = "move"', f"announced = {announced}",
                      f"cutoff = {cutoff}", f"to = {to}"]
        if self.cancel:
            cutoff, announced = self.cancel
            lines += ["", "[[amendments]]", 'action = "cancel"', f"announced = {announced}",
                      f"cutoff = {cutoff}"]
        for i, when in enumerate(self.milestones):
            lines += ["", "[[milestones]]", f'id = "m{i}"', f'title = "Milestone {i}"',
                      f'date = "{when}"']
        return "\n".join(lines) + "\n"

    def scheduled(self) -> list[date]:
        """The cut-off dates as written (recurrence's first date always among them)."""
        out = list(self.dates)
        if self.recurrence:
            out.insert(0, self.recurrence[0])
        return out


def between(lo: date, hi: date) -> st.SearchStrategy[date]:
    return st.dates(min_value=lo, max_value=hi)


FUZZY = st.one_of(
    st.dates(date(2020, 1, 1), date(2034, 12, 31)).map(date.isoformat),
    st.builds(lambda y, m: f"{y}-{m:02d}", st.integers(2020, 2034), st.integers(1, 12)),
    st.builds(lambda y, q: f"{y}-Q{q}", st.integers(2020, 2034), st.integers(1, 4)),
    st.integers(2020, 2034).map(str),
)


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    opens = draw(between(date(2020, 1, 1), date(2032, 12, 31)))
    closes = opens + timedelta(days=draw(st.integers(0, 900)))
    period = between(opens, closes)
    recurrence = None
    dates: tuple[date, ...] = ()
    if draw(st.booleans()):
        first = draw(period)
        until = draw(between(first, closes))
        count = draw(st.none() | st.integers(1, 30))
        recurrence = (first, draw(st.integers(1, 6)), draw(st.sampled_from(
            ["days", "weeks", "months"])), until, count)
        if recurrence[2] == "days" and recurrence[1] == 1 and count is None:
            recurrence = (first, 7, "days", until, count)  # keep the example small
    if recurrence is None or draw(st.booleans()):
        dates = tuple(sorted(draw(st.sets(period, min_size=1, max_size=6))))
    scheduled = ([recurrence[0]] if recurrence else []) + list(dates)
    move = cancel = None
    if draw(st.booleans()):
        move = (draw(st.sampled_from(scheduled)), draw(period),
                draw(between(opens - timedelta(days=60), closes)))
    rest = [d for d in scheduled if move is None or d != move[0]]
    if rest and draw(st.booleans()):
        cancel = (draw(st.sampled_from(rest)), draw(between(opens - timedelta(days=60), closes)))
    return Spec(
        zone=draw(st.sampled_from(ZONES)),
        deadline=draw(DEADLINES),
        opens=opens,
        closes=closes,
        dates=dates,
        recurrence=recurrence,
        condition=draw(st.booleans()),
        business_days=draw(st.sampled_from(["stay", "next", "previous"])),
        holidays=tuple(sorted(draw(st.sets(period, max_size=4)))),
        move=move,
        cancel=cancel,
        milestones=tuple(draw(st.lists(FUZZY, max_size=2))),
    )


@st.composite
def nows(draw: st.DrawFn, spec: Spec) -> datetime:
    day = draw(between(spec.opens - timedelta(days=120), spec.closes + timedelta(days=120)))
    hour = draw(st.integers(0, 23))
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    return datetime.combine(day, time(hour), zone)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Spec, Rule, datetime]:
    spec = draw(specs())
    return spec, parse_ok(spec.toml(), "generated.toml"), draw(nows(spec))


@FAST
@given(cases())
def test_generated_valid_rules_expand_sensibly(case: tuple[Spec, Rule, datetime]) -> None:
    spec, rule, now = case
    items = expand(rule, now)
    # nearest first
    instants = [o.instant for o in items]
    assert instants == sorted(instants)
    # one id per occurrence
    assert len({o.id for o in items}) == len(items)
    zone = ZoneInfo(spec.zone)
    for o in items:
        if o.kind is Kind.MILESTONE:
            continue
        local = o.start.astimezone(zone) if isinstance(o.start, datetime) else None
        day = local.date() if local else o.start
        # openings, cut-offs and closings stay inside the open period
        assert spec.opens <= day <= spec.closes, o
        if local is not None:
            # at the call's deadline time on the call's own clock ...
            assert local.time() == spec.deadline
            # ... with the offset that zone has at that wall-clock time (DST included)
            naive = local.replace(tzinfo=None)
            assert o.start.utcoffset() == zone.utcoffset(naive)
    # deterministic
    assert expand(rule, now) == items
    assert expand(parse_ok(spec.toml(), "generated.toml"), now) == items


@FAST
@given(cases())
def test_amendments_announced_later_change_nothing(case: tuple[Spec, Rule, datetime]) -> None:
    _, rule, now = case
    today = now.astimezone(rule.zone).date()
    known = replace(rule, amendments=tuple(a for a in rule.amendments if a.announced <= today))
    assert expand(known, now) == expand(rule, now)


@FAST
@given(cases(), st.datetimes(min_value=datetime(2019, 1, 1), max_value=datetime(2036, 1, 1),
                             timezones=st.just(UTC)))
def test_cutoff_ids_do_not_depend_on_the_day_asked(case: tuple[Spec, Rule, datetime],
                                                   other: datetime) -> None:
    _, rule, now = case
    first = [o.id for o in expand(rule, now) if o.kind is Kind.CUTOFF]
    second = [o.id for o in expand(rule, other) if o.kind is Kind.CUTOFF]
    assert sorted(first) == sorted(second)
    # one cut-off per scheduled date: a moved or cancelled one is still there
    assert len(first) == len(set(first))


def month_length(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


@FAST
@given(st.dates(date(2020, 1, 1), date(2032, 12, 31)), st.integers(1, 12),
       st.sampled_from(["days", "weeks", "months"]), st.integers(1, 40))
def test_recurrence_steps_are_exact(first: date, n: int, unit: str, count: int) -> None:
    rule = parse_ok(f'id = "r"\ntitle = "R"\n[cutoffs]\nfirst = {first}\n'
                    f'every = "{n} {unit}"\ncount = {count}\n')
    days = recurrence_dates(rule)
    assert len(days) == count
    assert days[0] == first
    for i, day in enumerate(days):
        if unit == "months":
            months = first.year * 12 + first.month - 1 + i * n
            y, m = divmod(months, 12)
            # the same day of the month, or the month's last day when it is shorter
            assert day == date(y, m + 1, min(first.day, month_length(y, m + 1)))
        else:
            step = n * (7 if unit == "weeks" else 1)
            assert day == first + timedelta(days=i * step)


def eu_summer_time(day: date) -> bool:
    """EU rule, independent of the tz database: summer time from the last Sunday of March to
    the last Sunday of October (the switch is at 01:00 UTC, so 17:00 that day is already
    on the new time)."""

    def last_sunday(month: int) -> date:
        last = date(day.year, month, month_length(day.year, month))
        return last - timedelta(days=(last.weekday() - 6) % 7)

    return last_sunday(3) <= day < last_sunday(10)


@FAST
@given(st.dates(date(2000, 1, 1), date(2035, 12, 31)))
def test_17h_brussels_is_15h_utc_in_summer_and_16h_utc_in_winter(day: date) -> None:
    rule = parse_ok(f'id = "b"\ntitle = "B"\ntimezone = "Europe/Brussels"\n'
                    f"[cutoffs]\ndates = [{day}]\n")
    (cutoff,) = [o for o in expand(rule, datetime(1999, 1, 1, tzinfo=UTC))
                 if o.kind is Kind.CUTOFF]
    assert isinstance(cutoff.start, datetime)
    utc = cutoff.start.astimezone(UTC)
    assert utc.date() == day
    assert (utc.hour, utc.minute) == ((15, 0) if eu_summer_time(day) else (16, 0))
