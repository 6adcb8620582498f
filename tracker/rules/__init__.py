"""The rule language: `parse` (TOML text to a Rule, with `lines` for line numbers, `checker`
and `sections` reading each part, `crosscheck` for whole-rule checks), `files` (finding, reading
and digesting rule files) and `expand` (pure: rules to dated occurrences)."""

from __future__ import annotations

from tracker.rules.files import (
    check_files,
    load_rules,
    rule_files,
)
from tracker.rules.parse import parse_rule

__all__ = ["check_files", "load_rules", "parse_rule", "rule_files"]
