"""The README's promises that a test can keep: the Python example runs as written, and every
command it lists has help with an example."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_use_it_from_python_example_runs(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    section = README.split("## Use it from Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code.group(1), "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    assert any("deadline" in line and "official" in line for line in lines)
    assert lines[-1].endswith("lines of history")
    assert (tmp_path / "grants.db").is_file()
    assert (tmp_path / "calendars" / "all.ics").read_bytes().startswith(b"BEGIN:VCALENDAR")


def test_every_command_in_the_readme_exists() -> None:
    from typer.testing import CliRunner

    from tracker.cli import app

    block = README.split("## The command line", 1)[1].split("```", 2)[1]
    for line in block.splitlines():
        words = line.split("#")[0].split()
        if not words or words[0] != "tracker":
            continue
        names = [w for w in words[1:3] if not w.startswith("-") and w.isalpha()]
        result = CliRunner().invoke(app, [*names[:2], "--help"])
        assert result.exit_code == 0, (line, result.output)
