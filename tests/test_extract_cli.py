"""`tracker extract` on the command line, and `--against` proposals, on real files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from tracker.extract.command import register
from tracker.rules import parse_rule

ANNOUNCEMENTS = Path(__file__).parent / "data" / "announcements"
FR_CALL = str(ANNOUNCEMENTS / "fr_rolling_call.md")


def app() -> typer.Typer:
    """A CLI app with only the extract command, as the tracker CLI registers it."""
    cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @cli.callback()
    def root() -> None:
        """Test root."""

    register(cli)
    return cli


def run(*args: str, stdin: str | None = None) -> Result:
    """`tracker extract ARGS...` in-process."""
    return CliRunner().invoke(app(), ["extract", *args], input=stdin)


def user_error(result: Result, code: int = 2) -> str:
    """A user error: its exit code and one line on stderr, no traceback."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_prints_a_draft_that_check_accepts(tmp_path: Path) -> None:
    result = run(FR_CALL)
    assert result.exit_code == 0, result.output
    path = tmp_path / "call.toml"
    path.write_text(result.stdout, encoding="utf-8")
    rule, problems = parse_rule(result.stdout, str(path))
    assert not problems and rule is not None
    assert rule.closes is not None and rule.closes.isoformat() == "2025-12-15"


def test_json_format_and_id() -> None:
    result = run(FR_CALL, "--format", "json", "--id", "littoral")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["id"] == "littoral"
    assert data["first"] == {"value": "2025-03-14", "quote": "14 mars 2025", "confidence": None,
                             "note": None}
    assert data["missing"] == {}


def test_reads_standard_input_with_published_and_lang() -> None:
    result = run("-", "--published", "2025-09-10", "--lang", "en",
                 stdin="Applications open today and close on 12 March next year.")
    assert result.exit_code == 0, result.output
    assert re.search(r'^opens = 2025-09-10  # "today"', result.stdout, re.M)
    assert re.search(r'^closes = 2026-03-12  # "12 March next year"', result.stdout, re.M)


def test_html_is_stripped() -> None:
    result = run(str(ANNOUNCEMENTS / "en_two_calls.html"))
    assert result.exit_code == 0, result.output
    assert "<" not in result.stdout.replace("<last", "")
    assert 'title = "Clean Water call"' in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["missing.txt"], "Error: no such file: missing.txt"),
    ([FR_CALL, "--published", "10/09/2024"],
     "Error: --published: '10/09/2024' is not a date; use YYYY-MM-DD"),
    ([FR_CALL, "--lang", "xx"], "Error: --lang: unknown language 'xx'"),
    ([str(ANNOUNCEMENTS / "de_two_calls.txt"), "--call", "NOPE-1-2"],
     "Error: --call NOPE-1-2: no such call in the announcement; it has: NSA-2026-WIND-01, "
     "NSA-2026-WATT-02"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    assert user_error(run(*args)).startswith(message)


def test_bad_front_matter_date_is_a_user_error() -> None:
    line = user_error(run("-", stdin="---\ndate: soon\n---\nA call.\n"))
    assert line == "Error: front matter date 'soon' is not a date; use date: YYYY-MM-DD"


def test_call_option_picks_the_second_call() -> None:
    result = run(str(ANNOUNCEMENTS / "de_two_calls.txt"), "--call", "NSA-2026-WATT-02")
    assert result.exit_code == 0, result.output
    assert 'identifiers = ["NSA-2026-WATT-02"]' in result.stdout
    assert "closes = 2026-08-31" in result.stdout


def test_help_has_an_example() -> None:
    result = CliRunner().invoke(app(), ["extract", "--help"])
    assert result.exit_code == 0 and "Example: tracker extract" in result.output


# --- --against ----------------------------------------------------------------------------

def rule_file(tmp_path: Path, announcement: str, *extra: str) -> Path:
    """A rule file drafted from an announcement (the draft needs no filling)."""
    result = run(str(ANNOUNCEMENTS / announcement), *extra)
    assert result.exit_code == 0, result.output
    path = tmp_path / "rule.toml"
    path.write_text(result.stdout, encoding="utf-8")
    return path


def apply(rule: Path, proposal: str) -> str:
    """The rule with the proposed amendments appended and their source line added."""
    text = rule.read_text(encoding="utf-8")
    source = re.search(r"^# Add this line to its \[sources\] table:\n# (.+)$", proposal, re.M)
    if source:
        text = text.replace("[sources]\n", f"[sources]\n{source.group(1)}\n", 1)
    return text + proposal


def test_against_proposes_a_moved_cutoff_a_new_closing_and_budget(tmp_path: Path) -> None:
    rule = rule_file(tmp_path, "fr_rolling_call.md")
    result = run(str(ANNOUNCEMENTS / "fr_update.md"), "--against", str(rule))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert 'cutoff = 2025-05-14\nto = 2025-06-02  # "2 juin 2025"' in out  # the 2nd cut-off
    assert 'closing = true\nto = 2026-01-15  # "15 janvier 2026"' in out
    assert 'action = "budget"\namount = 800_000_000' in out
    assert out.count("announced = 2025-03-20") == 3
    amended, problems = parse_rule(apply(rule, out), str(rule))
    assert not problems, problems
    assert amended is not None and len(amended.amendments) == 3
    assert "announcement-2025-03-20" in amended.sources


def test_against_uses_the_announcement_url_as_source(tmp_path: Path) -> None:
    rule = rule_file(tmp_path, "en_rolling_call.txt", "--published", "2026-02-01")
    result = run(str(ANNOUNCEMENTS / "en_update.txt"), "--against", str(rule))
    assert result.exit_code == 0, result.output
    assert 'action = "move"\ncutoff = 2026-06-16\nto = 2026-07-01' in result.stdout
    assert 'source = "https://harbour.example.org/news/testbeds-update"' in result.stdout
    assert "[sources]" not in result.stdout
    _, problems = parse_rule(apply(rule, result.stdout), str(rule))
    assert not problems, problems


def test_against_with_nothing_new(tmp_path: Path) -> None:
    rule = rule_file(tmp_path, "fr_rolling_call.md")
    result = run(FR_CALL, "--against", str(rule))
    assert result.exit_code == 0, result.output
    assert "# Nothing in the announcement disagrees with the rule." in result.stdout
    assert "[[amendments]]" not in result.stdout


def test_against_needs_a_publication_day(tmp_path: Path) -> None:
    rule = rule_file(tmp_path, "fr_rolling_call.md")
    line = user_error(run(str(ANNOUNCEMENTS / "de_two_calls.txt"), "--against", str(rule)))
    assert "--against needs the announcement's publication day" in line


def test_against_a_broken_rule_lists_its_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "x"\n', encoding="utf-8")
    result = run(FR_CALL, "--against", str(bad))
    assert result.exit_code == 2
    assert "missing required key 'title'" in result.stderr


def test_against_notes_what_no_amendment_can_say(tmp_path: Path) -> None:
    rule = rule_file(tmp_path, "en_rolling_call.txt", "--published", "2026-02-01")
    result = run(str(ANNOUNCEMENTS / "en_update_unscheduled.txt"), "--against", str(rule))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "# No amendment to propose." in out
    assert '# "20 May 2026": a cut-off on 2026-05-20 that the rule does not schedule' in out
    assert "an amount in USD; the rule's budget is in EUR" in out
