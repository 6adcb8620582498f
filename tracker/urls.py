"""URLs as people see them: secrets masked, webcal links, loopback hosts told apart."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit


def mask(text: str) -> str:
    """Hide the password of a URL."""
    try:
        parts = urlsplit(text)
        password, port = parts.password, parts.port
    except ValueError:
        return text
    if password:
        host = parts.hostname or ""
        netloc = f"{parts.username}:***@{host}" + (f":{port}" if port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return text


def webcal(url: str) -> str:
    """The same URL with the webcal scheme, which calendar apps open as a subscription."""
    return "webcal://" + url.split("://", 1)[1]


def is_loopback(url: str) -> bool:
    """True when the URL points at this machine only (links in real mail would not work)."""
    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", "") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
