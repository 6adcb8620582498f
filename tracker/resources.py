"""Files shipped with the package: the bundled seeds and the Jinja2 templates."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2


def package_data(name: str) -> Path:
    """A bundled folder: inside the installed package, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "_data" / name
    return installed if installed.is_dir() else here.parent / name


@cache
def templates() -> jinja2.Environment:
    """Templates from the package's `templates/` folder; unknown variables are errors."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(package_data("templates"))),
        autoescape=jinja2.select_autoescape(["html", "xml"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
