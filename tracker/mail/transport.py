"""Where mail goes: an SMTP server or a local maildir. The only module that imports smtplib.

A transport's `open()` is idempotent (it connects only when not connected), so delivery code
never needs to know which transport it has.
"""

from __future__ import annotations

import contextlib
import mailbox
import os
import smtplib
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol

from tracker.mail.smtpurl import SmtpConfig, parse_smtp_url


class TemporaryFailure(Exception):
    """Try again later: 4xx, a dropped connection, a server that is down."""


class PermanentFailure(Exception):
    """Do not retry: 5xx (bad address, rejected)."""


class Transport(Protocol):
    """Where messages go."""

    description: str

    def open(self) -> None:
        """Connect unless connected (raises TemporaryFailure when the server cannot be reached)."""

    def send(self, sender: str, recipient: str, payload: bytes) -> None:
        """Deliver one message (raises TemporaryFailure or PermanentFailure)."""

    def close(self) -> None:
        """Disconnect."""

    def abort(self) -> None:
        """Stop a send in flight as soon as possible (another thread calls it)."""


def _classify(exc: Exception) -> Exception:
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):  # plain words, not a Python repr
        replies = list(exc.recipients.values())
        code = min((c for c, _ in replies), default=None)
        said = "; ".join(m.decode(errors="replace") if isinstance(m, bytes) else str(m)
                         for _, m in replies)
        text = f"{code} the server refused the address: {said}".strip()
        return PermanentFailure(text) if isinstance(code, int) and 500 <= code < 600 \
            else TemporaryFailure(text)
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
        """Connect, STARTTLS or SSL, and log in; nothing when already connected."""
        if self.conn is not None:
            return
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
        """One message (connecting again if the connection was lost); errors are classified
        temporary or permanent."""
        self.open()
        assert self.conn is not None
        try:
            self.conn.sendmail(parseaddr(sender)[1] or sender, [recipient], payload)
        except (smtplib.SMTPException, OSError) as exc:
            # SMTPException is an OSError too: only a lost connection or a socket error needs
            # a new connection (after a refused recipient smtplib has already sent RSET)
            if isinstance(exc, smtplib.SMTPServerDisconnected) or \
                    not isinstance(exc, smtplib.SMTPException):
                self.conn = None
            raise _classify(exc) from None

    def abort(self) -> None:
        """Cut the connection now (from another thread): a send in flight fails at once and
        its message goes back to the queue."""
        conn = self.conn
        if conn is not None and conn.sock is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(2)

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
        """Create the maildir if needed (readable by its owner only)."""
        if self.box is not None:
            return
        try:
            # Maildir(create=True) makes tmp/new/cur only when the folder itself is new
            if not self.path.exists():
                self.path.mkdir(parents=True, mode=0o700)
            for sub in ("tmp", "new", "cur"):
                (self.path / sub).mkdir(mode=0o700, exist_ok=True)
            self.box = mailbox.Maildir(self.path, create=False)
        except OSError as exc:
            raise TemporaryFailure(f"cannot write {self.path}: {exc}") from None

    def send(self, sender: str, recipient: str, payload: bytes) -> None:  # noqa: ARG002
        """File the message."""
        self.open()
        assert self.box is not None
        old = os.umask(0o077)
        try:
            self.box.add(payload)
        except OSError as exc:
            raise TemporaryFailure(f"cannot write {self.path}: {exc}") from None
        finally:
            os.umask(old)

    def abort(self) -> None:
        """A file write is never long: nothing to cut."""

    def close(self) -> None:
        """Nothing to close."""
        self.box = None


def transport_for(smtp_url: str, maildir: Path) -> Transport:
    """SMTP when configured, else the local maildir."""
    if smtp_url:
        return SmtpTransport(parse_smtp_url(smtp_url))
    return MaildirTransport(maildir)




__all__ = ["MaildirTransport", "PermanentFailure", "SmtpConfig", "SmtpTransport",
           "TemporaryFailure", "Transport", "parse_smtp_url", "transport_for"]
