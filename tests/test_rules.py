"""Rule files: every problem in one run, each at its line, with a hint that says how to fix it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import DATA, GOOD_FILES, data_text, line_of, load, parse_ok
from tracker.errors import Problem, RuleError
from tracker.models import BusinessDays, Precision, Rule, Submission
from tracker.rules import check_files, load_rules, parse_rule

BROKEN = DATA / "broken_many.toml"


def problems_of(path: Path) -> list[Problem]:
    """Every problem check_files finds in one file."""
    rules, problems = check_files([path])
    assert rules == []
    return problems


def find(problems: list[Problem], key: str, words: str) -> Problem:
    """The one problem at `key` whose message contains `words`."""
    hits = [p for p in problems if p.key == key and words in p.message]
    assert len(hits) == 1, f"expected one problem at {key} about {words!r}, got:\n" + \
        "\n".join(str(p) for p in problems)
    return hits[0]


# (key, words in the message, key whose line it is, a table header the line comes after)
BROKEN_MANY = [
    ("titel", "unknown key 'titel'", "titel", None),
    ("timezone", "unknown time zone 'Europe/Brusels'", "timezone", None),
    ("source", "unknown source 'call-txt'", "source", None),
    ("cutoffs.dates[0]", "2024-06-30 is outside the open period", "dates", r"^\[cutoffs\]"),
    ("cutoffs.every", "'every' must say how often", "every", r"^\[cutoffs\]"),
    ("cutoffs.every", "never ends", "every", r"^\[cutoffs\]"),
    ("budget.amount", "negative", "amount", r"^\[budget\]"),
]


@pytest.mark.parametrize(("key", "words", "line_key", "after"), BROKEN_MANY,
                         ids=[f"{k}:{w}" for k, w, _, _ in BROKEN_MANY])
def test_broken_file_reports_each_problem_at_its_line(key: str, words: str, line_key: str,
                                                      after: str | None) -> None:
    text = data_text("broken_many.toml")
    problem = find(problems_of(BROKEN), key, words)
    assert problem.line == line_of(text, line_key, after)
    assert problem.file == str(BROKEN)
    assert problem.hint, "every problem says how to fix it"
    assert str(problem).startswith(f"{BROKEN}:{problem.line}:")


def test_broken_file_reports_all_problems_in_one_run() -> None:
    problems = problems_of(BROKEN)
    distinct = {(p.key, p.message) for p in problems}
    assert len(distinct) == len(problems)
    assert len({p.key for p in problems}) >= 6
    for key, words, _, _ in BROKEN_MANY:
        find(problems, key, words)
    # the misspelt 'titel' leaves the rule without a title: that is reported too
    find(problems, "title", "missing required key 'title'")


def test_typo_suggestions() -> None:
    problems = problems_of(BROKEN)
    assert find(problems, "titel", "unknown key").hint == "did you mean 'title'?"
    assert find(problems, "timezone", "unknown time zone").hint == \
        "did you mean 'Europe/Brussels'?"
    assert find(problems, "source", "unknown source").hint == "did you mean 'call-text'?"


def test_unknown_key_in_a_table_is_suggested_and_located() -> None:
    text = data_text("single.toml") + '\n[cutoffs]\nconditon = "while funds last"\n'
    _, problems = parse_rule(text, "typo.toml")
    problem = find(problems, "cutoffs.conditon", "unknown key")
    assert problem.hint == "did you mean 'condition'?"
    assert problem.line == line_of(text, "conditon")


def test_impossible_date_is_a_syntax_error_with_its_line() -> None:
    path = DATA / "broken_syntax.toml"
    text = path.read_text(encoding="utf-8")
    problems = problems_of(path)
    assert len(problems) == 1
    assert problems[0].line == line_of(text, "closes")
    assert problems[0].message.startswith("TOML")
    assert "2025-02-30" in problems[0].hint


@pytest.mark.parametrize("name", GOOD_FILES)
def test_good_files_parse_without_problems(name: str) -> None:
    rules, problems = check_files([DATA / name])
    assert problems == []
    assert len(rules) == 1


def test_recurring_file_is_read_as_written(ai_factories: Rule) -> None:
    r = ai_factories
    assert (r.id, r.title, r.timezone) == ("ai-factories", "AI Factories", "Europe/Brussels")
    assert r.submission is Submission.MULTIPLE_CUTOFF
    assert r.matches("EUROHPC-2024-CEI-AI-01") and r.matches("eurohpc-2024-cei-ai-01")
    rec = r.cutoffs.recurrence
    assert rec is not None and rec.until is not None
    assert (rec.first.isoformat(), rec.interval, rec.unit, rec.until.isoformat()) == \
        ("2024-11-04", 3, "months", "2025-12-31")
    assert r.cutoffs.condition == "as long as funds are available"
    header = data_text("recurring_tentative.toml").splitlines().index("[[amendments]]") + 1
    assert [a.line for a in r.amendments] == [header]
    (m,) = r.milestones
    assert m.when.precision is Precision.QUARTER


def test_business_days_file_is_read_as_written() -> None:
    r = load("business_days.toml")
    assert r.cutoffs.business_days is BusinessDays.NEXT
    assert [d.isoformat() for d in r.cutoffs.holidays] == ["2025-03-17"]
    assert r.deadline_time.strftime("%H:%M") == "23:59"


def test_broken_file_does_not_stop_the_others(tmp_path: Path) -> None:
    for name in ("single.toml", "broken_many.toml", "recurring_tentative.toml",
                 "broken_syntax.toml"):
        shutil.copy(DATA / name, tmp_path / name)
    rules, problems = check_files([tmp_path])
    assert sorted(r.id for r in rules) == ["ai-factories", "single-call"]
    assert {Path(p.file).name for p in problems} == {"broken_many.toml", "broken_syntax.toml"}
    with pytest.raises(RuleError) as err:
        load_rules([tmp_path])
    assert len(err.value.problems) == len([p for p in problems if not p.warning])
    assert "broken_many.toml:3:" in str(err.value) and "broken_syntax.toml:5:" in str(err.value)


def test_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    rules, problems = check_files([tmp_path / "nope.toml", DATA / "single.toml"])
    assert [r.id for r in rules] == ["single-call"]
    assert [p.message for p in problems] == ["no such file"]


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    text = data_text("single.toml")
    (tmp_path / "a.toml").write_text(text, encoding="utf-8")
    (tmp_path / "b.toml").write_text("\n\n" + text, encoding="utf-8")
    rules, problems = check_files([tmp_path])
    assert [r.id for r in rules] == ["single-call"]
    (problem,) = problems
    assert problem.file == str(tmp_path / "b.toml")
    assert problem.key == "id"
    assert problem.line == line_of(text, "id") + 2
    assert str(tmp_path / "a.toml") in problem.message


def test_amendment_on_an_unscheduled_cutoff_lists_the_scheduled_dates() -> None:
    extra = ("[[amendments]]\naction = \"cancel\"\nannounced = 2025-01-10\n"
             "cutoff = 2025-05-05\n")
    text = data_text("recurring_tentative.toml") + "\n" + extra
    _, problems = parse_rule(text, "x.toml")
    problem = find(problems, "amendments[1].cutoff", "no cut-off is scheduled on 2025-05-05")
    assert problem.line == line_of(text, "cutoff", after=r"^\[\[amendments\]\]", nth=2)
    # first cut-off 2024-11-04, then every 3 months
    for day in ("2024-11-04", "2025-02-04", "2025-05-04", "2025-08-04", "2025-11-04"):
        assert day in problem.hint


def test_unscheduled_cutoff_hint_shows_the_dates_near_the_one_written() -> None:
    # weekly on Mondays from 6 January: 2025-09-02 is a Tuesday, the 35th cut-off is Monday
    # 2025-09-01, far beyond the first few dates of the series
    text = ('id = "weekly"\ntitle = "Weekly"\nopens = 2025-01-01\ncloses = 2025-12-31\n'
            '[cutoffs]\nfirst = 2025-01-06\nevery = "1 week"\nuntil = 2025-12-29\n'
            '[[amendments]]\naction = "cancel"\nannounced = 2025-08-01\ncutoff = 2025-09-02\n')
    _, problems = parse_rule(text, "weekly.toml")
    problem = find(problems, "amendments[0].cutoff", "no cut-off is scheduled on 2025-09-02")
    assert "2025-09-01" in problem.hint and "2025-09-08" in problem.hint


def test_second_amendment_block_problem_points_at_its_own_line() -> None:
    extra = '[[amendments]]\naction = "postpone"\nannounced = 2025-01-10\ncutoff = 2025-05-04\n'
    text = data_text("recurring_tentative.toml") + "\n" + extra
    _, problems = parse_rule(text, "x.toml")
    problem = find(problems, "amendments[1].action", "unknown action 'postpone'")
    assert problem.line == line_of(text, "action", after=r"^\[\[amendments\]\]", nth=2)


TABLE_HEADERS = {
    "cutoffs": r"^\[cutoffs\]",
    "budget": r"^\[budget\]",
    "amendments": r"^\[\[amendments\]\]",
    "milestones": r"^\[\[milestones\]\]",
}


@pytest.mark.parametrize(("replace", "key", "words"), [
    (('every = "3 months"', 'every = "0 months"'), "cutoffs.every", "from 1 to 1000"),
    (("until = 2025-12-31", "count = 0"), "cutoffs.count", "at least 1"),
    (("until = 2025-12-31", "until = 2026-06-30"), "cutoffs.until", "after the call closes"),
    (("first = 2024-11-04", "first = 2024-08-04"), "cutoffs.first", "outside the open period"),
    (("confirmed = [2024-11-04]", "confirmed = [2024-11-05]"), "cutoffs.confirmed",
     "not one of the scheduled"),
    (("closes = 2025-12-31", "closes = 2024-09-01"), "closes", "before opens"),
    (('deadline_time = 17:00:00', 'deadline_time = "5pm"'), "deadline_time", "local time"),
    (('amount = 1_000_000_000', 'amount = "a billion"'), "budget.amount", "must be a number"),
    (('tags = ["ai", "hpc"]', 'tags = ["AI Factories"]'), "tags", "lower-case"),
    (('date = "2025-Q1"', 'date = "2025-Q5"'), "milestones[0].date", "not a date"),
    (('cutoff = 2025-02-04', 'milestone = "selecton"'), "amendments[0].milestone",
     "no milestone with id 'selecton'"),
])
def test_single_mistakes_are_located(replace: tuple[str, str], key: str, words: str) -> None:
    text = data_text("recurring_tentative.toml")
    assert replace[0] in text
    bad = text.replace(replace[0], replace[1])
    rule, problems = parse_rule(bad, "x.toml")
    assert rule is None
    problem = find(problems, key, words)
    assert problem.line is not None
    table = key.split(".")[0].split("[")[0] if "." in key else None
    after = TABLE_HEADERS.get(table) if table else None
    assert problem.line == line_of(bad, key.split(".")[-1].split("[")[0], after=after)


def test_single_and_two_stage_models_are_checked() -> None:
    one = data_text("single.toml") + "\n[cutoffs]\ndates = [2025-02-10, 2025-03-10]\n"
    _, problems = parse_rule(one, "x.toml")
    find(problems, "submission", "single-deadline call has 2 cut-offs")
    two = data_text("two_stage.toml").replace(
        '  { date = 2026-02-17T12:00:00, key = "stage-2", label = "stage 2" },\n', "")
    _, problems = parse_rule(two, "x.toml")
    find(problems, "submission", "exactly 2 deadlines, found 1")


def test_single_call_without_dates_uses_closes_as_its_deadline() -> None:
    r = load("single.toml")
    (only,) = r.cutoffs.dates
    assert only.when == r.closes


def test_valid_text_gives_the_same_rule_every_time() -> None:
    text = data_text("recurring_tentative.toml")
    assert parse_ok(text) == parse_ok(text)


def test_an_override_file_is_laid_over_its_rule(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_text(data_text("single.toml"), encoding="utf-8")
    (tmp_path / "x.override.toml").write_text('title = "Corrected title"\n', encoding="utf-8")
    (rule,) = load_rules([tmp_path])
    assert rule.title == "Corrected title" and rule.id == "single-call"
    (tmp_path / "x.override.toml").write_text('\n\ntimezone = "Mars/Base"\n', encoding="utf-8")
    rules, problems = check_files([tmp_path])
    assert not rules
    (problem,) = [p for p in problems if not p.warning]
    assert (Path(problem.file).name, problem.line) == ("x.override.toml", 3)


def test_a_snapshot_gives_way_to_a_live_import(tmp_path: Path) -> None:
    for folder in ("ftportal-snapshot", "ftportal"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.toml").write_text(data_text("single.toml"), encoding="utf-8")
    rules, problems = check_files([tmp_path])
    assert [r.path for r in rules] == [str(tmp_path / "ftportal" / "a.toml")]
    assert not [p for p in problems if not p.warning]  # no duplicate id
