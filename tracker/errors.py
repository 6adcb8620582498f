"""One exception tree; every error carries a user-facing message and an exit code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class TrackerError(Exception):
    """Base of every error the user may see; `str(err)` is the message to print."""

    exit_code = 1


class UsageError(TrackerError):
    """A bad option value or argument (bad date, unknown zone, bad duration)."""

    exit_code = 2


class NotFoundError(TrackerError):
    """Something the user named does not exist (a call id, a subscriber)."""

    exit_code = 3


class ConfigError(TrackerError):
    """The configuration file or an environment variable is wrong."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a rule file: where, what, and how to fix it."""

    file: str
    line: int | None
    key: str
    message: str
    hint: str = ""
    warning: bool = False  # worth fixing, but the rule is usable as it is

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" [{self.key}]" if self.key else ""
        hint = f" — {self.hint}" if self.hint else ""
        level = " warning:" if self.warning else ""
        return f"{where}:{key}{level} {self.message}{hint}"


class RuleError(TrackerError):
    """One or more rule files are invalid; holds every problem found."""

    exit_code = 2

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        files = len({p.file for p in self.problems})
        head = f"{len(self.problems)} problem(s) in {files} rule file(s):"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))


class StoreError(TrackerError):
    """The database cannot be used (unreachable, locked, too new)."""

    exit_code = 4
