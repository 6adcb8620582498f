"""Fixtures shared by the test modules: real rule files from tests/data, and factories."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.helpers import data_text, load, parse_ok
from tracker.models import Rule


@pytest.fixture
def ai_factories() -> Rule:
    """The rolling AI-Factories-like call from tests/data/recurring_tentative.toml."""
    return load("recurring_tentative.toml")


@pytest.fixture
def amended() -> Callable[[str], Rule]:
    """Factory: the AI-Factories-like rule with extra TOML appended (amendments, milestones)."""

    def make(extra: str) -> Rule:
        return parse_ok(data_text("recurring_tentative.toml") + "\n" + extra)

    return make
