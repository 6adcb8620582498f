"""The Jinja2 environment of the bundled templates (HTML autoescaped, plain text not)."""

from __future__ import annotations

import jinja2

from tracker.config import package_data


def templates() -> jinja2.Environment:
    """Templates from the package's `templates/` folder; unknown variables are errors."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(package_data("templates"))),
        autoescape=jinja2.select_autoescape(["html", "xml"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
