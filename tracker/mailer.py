"""The only SMTP module: transports (SMTP or a local maildir), draining the outbox, retries."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import mailbox
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from tracker.errors import ConfigError
from tracker.store import mail as outbox
from tracker.store.engine import Store

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)


class TemporaryFailure(Exception):
    """Try again later: 4xx, a dropped connection, a server that is down."""


class PermanentFailure(Exception):
    """Do not retry: 5xx (bad address, rejected)."""


class Transport(Protocol):
    """Where messages go."""

    description: str

    def open(self) -> None:
        """Connect (raises TemporaryFailure when the server cannot be reached)."""

    def send(self, sender: str, recipient: str, payload: bytes) -> None:
        """Deliver one message (raises TemporaryFailure or PermanentFailure)."""

    def close(self) -> None:
        """Disconnect."""


@dataclass
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
    """smtp://user:pass@host:587?starttls=true, smtps://host:465, smtp://127.0.0.1:2525."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError(f"smtp_url '{parts.scheme}://{parts.hostname or ''}...' is not an SMTP "
                          "URL; write smtp://user:pass@host:587?starttls=true or smtps://host:465")
    query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"starttls", "timeout", "cafile"}
    if unknown:
        raise ConfigError(f"smtp_url: unknown option '{sorted(unknown)[0]}' (use starttls=true, "
                          "timeout=SECONDS, cafile=PATH)")
    mode = "ssl" if parts.scheme == "smtps" else \
        "starttls" if query.get("starttls") in ("1", "true", "yes") else "plain"
    try:
        port = parts.port or (465 if mode == "ssl" else 587 if mode == "starttls" else 25)
        timeout = float(query.get("timeout", "30"))
    except ValueError as exc:
        raise ConfigError(f"smtp_url: {exc}") from None
    cafile = parse_qs(parts.query).get("cafile", [""])[-1]
    return SmtpConfig(parts.hostname, port, mode, unquote(parts.username or ""),
                      unquote(parts.password or ""), timeout, cafile)


def _classify(exc: Exception) -> Exception:
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [c for c, _ in exc.recipients.values()]
        code = min(codes) if codes else None
    if isinstance(code, int) and 500 <= code < 600:
        return PermanentFailure(f"{code} {_text(exc)}")
    return TemporaryFailure(f"{code or ''} {_text(exc)}".strip())


def _text(exc: Exception) -> str:
    err = getattr(exc, "smtp_error", None)
    if isinstance(err, bytes):
        return err.decode(errors="replace")
    return str(exc) or exc.__class__.__name__


@dataclass
class SmtpTransport:
    """One SMTP connection per batch."""

    config: SmtpConfig
    conn: smtplib.SMTP | None = None
    description: str = ""

    def __post_init__(self) -> None:
        self.description = f"SMTP {self.config.host}:{self.config.port} ({self.config.mode})"

    def open(self) -> None:
        """Connect, STARTTLS or SSL, and log in."""
        c = self.config
        try:
            if c.mode == "ssl":
                self.conn = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=c.tls())
            else:
                self.conn = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
                if c.mode == "starttls":
                    self.conn.starttls(context=c.tls())
            if c.username:
                self.conn.login(c.username, c.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise TemporaryFailure(f"login refused: {_text(exc)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"cannot reach {self.description}: {_text(exc)}") from None

    def send(self, sender: str, recipient: str, payload: bytes) -> None:
        """One message; errors are classified temporary or permanent."""
        if self.conn is None:
            raise TemporaryFailure("not connected")
        try:
            self.conn.sendmail(parseaddr(sender)[1] or sender, [recipient], payload)
        except (smtplib.SMTPException, OSError) as exc:
            # SMTPException is an OSError too: only a lost connection or a socket error needs
            # a new connection (after a refused recipient smtplib has already sent RSET)
            if isinstance(exc, smtplib.SMTPServerDisconnected) or \
                    not isinstance(exc, smtplib.SMTPException):
                self.conn = None
            raise _classify(exc) from None

    def close(self) -> None:
        """QUIT, ignoring a server that already went away."""
        if self.conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.conn.quit()
            self.conn = None


@dataclass
class MaildirTransport:
    """No SMTP configured: messages go to a local maildir that any mail reader opens."""

    path: Path
    box: mailbox.Maildir | None = None
    description: str = ""

    def __post_init__(self) -> None:
        self.description = f"maildir {self.path}"

    def open(self) -> None:
        """Create the maildir if needed."""
        try:
            # Maildir(create=True) makes tmp/new/cur only when the folder itself is new
            for sub in ("tmp", "new", "cur"):
                (self.path / sub).mkdir(parents=True, exist_ok=True)
            self.box = mailbox.Maildir(self.path, create=False)
        except OSError as exc:
            raise TemporaryFailure(f"cannot write {self.path}: {exc}") from None

    def send(self, sender: str, recipient: str, payload: bytes) -> None:
        """File the message."""
        assert self.box is not None
        try:
            self.box.add(payload)
        except OSError as exc:
            raise TemporaryFailure(f"cannot write {self.path}: {exc}") from None

    def close(self) -> None:
        """Nothing to close."""
        self.box = None


def transport_for(smtp_url: str, maildir: Path) -> Transport:
    """SMTP when configured, else the local maildir."""
    if smtp_url:
        return SmtpTransport(parse_smtp_url(smtp_url))
    return MaildirTransport(maildir)


def backoff(message_id: str, attempts: int) -> timedelta:
    """Exponential, capped, with a stable per-message jitter (0.75x to 1.25x)."""
    base: timedelta = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_WAIT)
    spread = int(hashlib.sha256(f"{message_id}:{attempts}".encode()).hexdigest()[:4], 16)
    wait: timedelta = base * (0.75 + 0.5 * spread / 0xFFFF)
    return wait


@dataclass
class DrainReport:
    """What one drain did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    where: str = ""


def drain(store: Store, transport: Transport, sender: str, now: datetime,
          limit: int = 500) -> DrainReport:
    """Send every due message once: claim, send, settle. Caller holds the sender lock."""
    report = DrainReport(where=transport.description)
    outbox.release_stale(store)
    outbox.drop_unsubscribed(store)
    due = outbox.due_messages(store, now, limit)
    if not due:
        return report
    try:
        transport.open()
    except TemporaryFailure as exc:
        for row in due:
            _retry(store, row, str(exc), now, report, claimed=False)
        return report
    try:
        for row in due:
            if not outbox.claim(store, row.id, now):
                continue
            attempts = row.attempts + 1
            try:
                transport.send(sender, row.recipient, row.payload)
            except PermanentFailure as exc:
                outbox.settle(store, row.id, outbox.FAILED, now, str(exc))
                report.failed += 1
                report.errors.append(f"{row.recipient}: {exc}")
                log.warning("permanent failure for %s: %s", row.recipient, exc)
            except TemporaryFailure as exc:
                _retry(store, row, str(exc), now, report, claimed=True, attempts=attempts)
                if isinstance(transport, SmtpTransport) and transport.conn is None:
                    try:
                        transport.open()
                    except TemporaryFailure as again:
                        rest = [r for r in due if r.id > row.id]
                        for r in rest:
                            _retry(store, r, str(again), now, report, claimed=False)
                        return report
            else:
                outbox.settle(store, row.id, outbox.SENT, now)
                report.sent += 1
                log.info("sent %s to %s", row.key, row.recipient)
    finally:
        transport.close()
    return report


def _retry(store: Store, row: outbox.OutboxRow, error: str, now: datetime,
           report: DrainReport, claimed: bool, attempts: int | None = None) -> None:
    """A temporary failure is never final: an outage only delays mail (waits grow to 6 h)."""
    tries = attempts if attempts is not None else row.attempts + 1
    report.errors.append(f"{row.recipient}: {error}")
    when = now + backoff(row.message_id, tries)
    if claimed:
        outbox.settle(store, row.id, outbox.PENDING, now, error, next_attempt=when)
    else:
        outbox.postpone(store, [row.id], error, when)
    report.retried += 1
