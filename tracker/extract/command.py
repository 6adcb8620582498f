"""The `tracker extract` command: read an announcement, print a draft rule or amendments."""

from __future__ import annotations

import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tracker.errors import RuleError, TrackerError, UsageError

EXAMPLE = "tracker extract news.html --published 2024-09-10 > seeds/new-call.toml"


class Format(StrEnum):
    """Output formats of `tracker extract`."""

    toml = "toml"
    json = "json"


def read_text(name: str) -> str:
    """The announcement's text: a file, or standard input for '-'."""
    if name == "-":
        return sys.stdin.read()
    try:
        return Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"no such file: {name}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{name} is not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None


def parse_published(value: str | None) -> date | None:
    """--published YYYY-MM-DD."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--published: '{value}' is not a date; use YYYY-MM-DD") from None


def run(file: str, *, published: str | None = None, lang: str = "auto",
        rule_id: str | None = None, fmt: Format = Format.toml, rule: Path | None = None,
        call: str | None = None) -> str:
    """What `tracker extract` prints, or a TrackerError."""
    from tracker.extract import against, draft, to_json, to_toml
    from tracker.rules import load_rules

    text, day = read_text(file), parse_published(published)
    if lang not in ("auto", "en", "fr", "de", "es", "it", "zh", "zh-Hans", "zh-Hant"):
        raise UsageError(f"--lang: unknown language '{lang}'; use auto, en, fr, de, es, it or zh")
    if rule is not None:
        rules = load_rules([rule])
        if len(rules) != 1:
            raise UsageError(f"--against: {rule} must be one rule file")
        return str(against(rules[0], text, published=day, lang=lang))
    d = draft(text, published=day, lang=lang, rule_id=rule_id, call=call)
    return str(to_json(d) if fmt is Format.json else to_toml(d))


def register(app: typer.Typer) -> None:
    """Add the `extract` command to the CLI app."""

    @app.command("extract", epilog=f"Example: {EXAMPLE}")
    def extract(
        file: Annotated[str, typer.Argument(metavar="FILE|-", help="Announcement: text, "
                                            "Markdown or HTML; '-' reads standard input.")],
        published: Annotated[str | None, typer.Option(
            "--published", metavar="DATE", help="Publication day (YYYY-MM-DD); default: the "
            "front matter's date:. Relative dates ('next March') count from it.")] = None,
        lang: Annotated[str, typer.Option(
            "--lang", help="auto, en, fr, de, es, it or zh.")] = "auto",
        rule_id: Annotated[str | None, typer.Option("--id", help="Id of the drafted rule.")]
        = None,
        fmt: Annotated[Format, typer.Option("--format", help="toml (a rule file) or json.")]
        = Format.toml,
        rule: Annotated[Path | None, typer.Option(
            "--against", metavar="RULE.toml", help="Compare with this rule and print the "
            "proposed [[amendments]] instead of a draft.", dir_okay=False)] = None,
        call: Annotated[str | None, typer.Option(
            "--call", help="When the text describes several calls: the identifier or number "
            "of the one to draft.")] = None,
    ) -> None:
        """Draft a rule file from an announcement, quoting the words behind each value."""
        try:
            typer.echo(run(file, published=published, lang=lang, rule_id=rule_id, fmt=fmt,
                           rule=rule, call=call), nl=False)
        except RuleError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(exc.exit_code) from None
        except TrackerError as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
