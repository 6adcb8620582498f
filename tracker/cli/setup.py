"""Setting up: `tracker init` (a project folder of your own) and `tracker config`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tracker.cli import command, fail, settings_of

EXAMPLE_RULE = '''\
# An example call rule: edit it, copy it, then run `tracker check` and `tracker deadlines`.
# The format is described in the tracker's seeds/README.md.

id = "example-call"                 # lower-case letters, digits, - _ .
title = "Example rolling call"
identifiers = ["EXAMPLE-2027-01"]   # official identifiers (searchable with --call)
funder = "Example Funding Agency"
url = "https://example.org/calls/example-2027-01"
tags = ["example"]
timezone = "Europe/Brussels"
deadline_time = 17:00:00            # the hour every cut-off closes, in `timezone`
deadline_time_basis = "stated"      # stated | convention | assumed
opens = {opens}
closes = {closes}
source = "announcement"

[sources.announcement]
title = "Example Funding Agency: call announcement"
url = "https://example.org/news"
published = {opens}

[cutoffs]
first = {first}
every = "3 months"
until = {closes}
condition = "as long as funds are available"   # later cut-offs are tentative
confirmed = [{first}]

[budget]
amount = 10_000_000
currency = "EUR"
approximate = true
'''

CONFIG = '''\
# tracker settings for this folder (see `tracker config`); paths are relative to this file.
# database_url = "sqlite:///tracker.db"
# timezone = "Europe/Brussels"
# base_url = "https://grants.example.org"
# smtp_url = "smtp://user:pass@smtp.example.org:587?starttls=true"
'''


@command("init", "tracker init my-grants && cd my-grants && tracker deadlines")
def init(directory: Annotated[Path, typer.Argument(
        metavar="[DIR]", help="Folder to set up (default: the current one).")] = Path(".")) \
        -> None:
    """Make a project folder: tracker.toml and seeds/ with a commented example rule."""
    from datetime import date

    from dateutil.relativedelta import relativedelta

    seeds = directory / "seeds"
    config = directory / "tracker.toml"
    if config.exists() or (seeds.is_dir() and any(seeds.glob("*.toml"))):
        raise fail(f"{directory} already holds a tracker project (tracker.toml or seeds/)", 2)
    seeds.mkdir(parents=True, exist_ok=True)
    today = date.today()
    first = today + relativedelta(months=1)
    (seeds / "example-call.toml").write_text(EXAMPLE_RULE.format(
        opens=today.isoformat(), first=first.isoformat(),
        closes=(today + relativedelta(years=1)).isoformat()), encoding="utf-8")
    config.write_text(CONFIG, encoding="utf-8")
    typer.echo(f"Created {config} and {seeds / 'example-call.toml'}.\n"
               f"Next: cd {directory} && tracker check && tracker deadlines")


@command("config", "TRACKER_TIMEZONE=Europe/Paris tracker config")
def config(ctx: typer.Context) -> None:
    """Print the effective settings and where each came from (secrets masked); a bad setting
    is an error (exit 2), every problem listed."""
    from tracker.cli.render import table
    from tracker.config import SETTINGS

    settings = settings_of(ctx)
    lines = [f"config file: {settings.config_file or 'none found'}",
             f"project:     {settings.project or 'none (no tracker.toml or seeds/ here or above)'}",
             f"rules from:  {settings.origins['seeds']}", ""]
    rows = [(s.name, settings.shown(s.name), settings.origins[s.name].split(":")[0], s.env)
            for s in SETTINGS]
    lines.append(table(rows, ("SETTING", "VALUE", "FROM", "ENVIRONMENT"), wrap=1))
    typer.echo("\n".join(lines))
