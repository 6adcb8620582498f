"""Grant-call tracker: call rules in, deadlines, feeds and digests out."""

from __future__ import annotations

__version__ = "0.1.0"
