"""Hardening, defect 8: bad settings are one line each, all at once, exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tracker.cli import app


def run(*args: str, env: dict[str, str]) -> Result:
    """`tracker ARGS...` in-process with extra environment."""
    return CliRunner().invoke(app, list(args), env=env)


def error_lines(result: Result) -> list[str]:
    """The non-blank stderr lines of a failed command that did not crash."""
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    return [line for line in result.stderr.splitlines() if line.strip()]


@pytest.mark.parametrize(("url", "said"), [
    ("smtp://h:99999", "port"),
    ("smtp://h:notaport", "notaport"),
    ("smtp://[::1", "ipv6"),
    ("smtp://h?startls=true", "did you mean 'starttls'"),
    ("smtp://h?timeout=0", "timeout"),
    ("smtp://h?starttls=maybe", "starttls"),
    ("http://h:25", "not an smtp url"),
    ("smtp://h:-1", "port"),
])
def test_config_says_what_is_wrong_with_the_smtp_url_in_one_line(url: str, said: str) -> None:
    """`tracker config` with a broken TRACKER_SMTP_URL: exit 2, one line naming the problem."""
    result = run("config", env={"TRACKER_SMTP_URL": url})
    lines = error_lines(result)
    assert result.exit_code == 2, result.output
    assert len(lines) == 1, lines
    assert "TRACKER_SMTP_URL" in lines[0] and said in lines[0].lower(), lines[0]


def test_digest_send_with_an_unclosed_ipv6_host_is_one_line(tmp_path: Path) -> None:
    """`digest send` with smtp://[::1: the setting error, not a traceback."""
    result = run("digest", "send", env={"TRACKER_SMTP_URL": "smtp://[::1",
                                        "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    lines = error_lines(result)
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and "TRACKER_SMTP_URL" in lines[0], lines


def test_every_setting_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Three bad settings from the file and the environment: three lines in one run."""
    config = tmp_path / "tracker.toml"
    config.write_text('timezone = "Mars/Olympus"\nbase_url = "javascript:alert(1)"\n'
                      'smpt_url = "smtp://h"\n', encoding="utf-8")
    result = run("--config", str(config), "config",
                 env={"TRACKER_SMTP_URL": "smtp://h:99999"})
    lines = error_lines(result)
    assert result.exit_code == 2, result.output
    body = [line.strip() for line in lines[1:]]
    assert lines[0].startswith("Error: 4 problems"), lines
    assert any("timezone" in line and "Mars/Olympus" in line for line in body), body
    assert any("base_url" in line for line in body), body
    assert any("did you mean 'smtp_url'" in line for line in body), body
    assert any("TRACKER_SMTP_URL" in line for line in body), body


def test_an_overlong_zone_setting_is_a_setting_error_not_an_os_error() -> None:
    """A 300-character TRACKER_TIMEZONE: one line, no 'File name too long'."""
    result = run("config", env={"TRACKER_TIMEZONE": "Europe/" + "x" * 300})
    lines = error_lines(result)
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and "unknown time zone" in lines[0], lines
    assert "too long" not in lines[0]
