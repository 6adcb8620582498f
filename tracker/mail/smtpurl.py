"""The SMTP setting: `smtp://user:pass@host:587?starttls=true`, `smtps://host:465`, parsed once."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from tracker.errors import ConfigError

OPTIONS = ("starttls", "timeout", "cafile")
EXAMPLES = "smtp://user:pass@host:587?starttls=true, smtps://host:465 or smtp://127.0.0.1:2525"


@dataclass(frozen=True)
class SmtpConfig:
    """Parsed TRACKER_SMTP_URL."""

    host: str
    port: int
    mode: str  # "plain" | "starttls" | "ssl"
    username: str = ""
    password: str = ""
    timeout: float = 30.0
    cafile: str = ""  # a private CA for a relay with a self-signed certificate

    def tls(self) -> ssl.SSLContext:
        """Certificate-checking TLS context (system CAs, or `cafile`)."""
        return ssl.create_default_context(cafile=self.cafile or None)


def parse_smtp_url(url: str) -> SmtpConfig:
    """The SMTP URL, or a ConfigError in one line that says what to write."""
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise ConfigError(f"smtp_url: {exc}; write {EXAMPLES}") from None
    if parts.scheme not in ("smtp", "smtps") or not host:
        raise ConfigError(f"smtp_url '{parts.scheme}://{host or ''}...' is not an SMTP URL; "
                          f"write {EXAMPLES}")
    raw = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(raw) - set(OPTIONS))
    if unknown:
        import difflib

        near = difflib.get_close_matches(unknown[0], OPTIONS, n=1)
        hint = f"did you mean '{near[0]}'?" if near else "use starttls=true, timeout=SECONDS, " \
            "cafile=PATH"
        raise ConfigError(f"smtp_url: unknown option '{unknown[0]}' ({hint})")
    query = {k: v[-1] for k, v in raw.items()}
    flag = query.get("starttls", "false").lower()
    if flag not in ("1", "true", "yes", "0", "false", "no"):
        raise ConfigError(f"smtp_url: starttls={flag} is not true or false")
    mode = "ssl" if parts.scheme == "smtps" else \
        "starttls" if flag in ("1", "true", "yes") else "plain"
    try:
        timeout = float(query.get("timeout", "30"))
        if not 0 < timeout <= 600:
            raise ValueError
    except ValueError:
        raise ConfigError(f"smtp_url: timeout={query.get('timeout')} is not a number of seconds "
                          "from 1 to 600") from None
    port = port or (465 if mode == "ssl" else 587 if mode == "starttls" else 25)
    return SmtpConfig(host, port, mode, unquote(parts.username or ""),
                      unquote(parts.password or ""), timeout, query.get("cafile", ""))
