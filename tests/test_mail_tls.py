"""SMTP over STARTTLS with login, and over implicit TLS (smtps), against a real aiosmtpd server
with a throw-away certificate authority; a wrong password or an untrusted certificate is a
temporary failure that keeps the message queued."""

from __future__ import annotations

import email
import email.policy
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.pg import free_port
from tracker.mail import smtpurl, transport

USER, PASSWORD = "digest-bot", "s3cret pass"

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None,
                                reason="openssl is needed to make a test certificate")


@dataclass
class Inbox:
    """Messages received, and the logins the server saw."""

    messages: list[email.message.EmailMessage] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(  # type: ignore[arg-type]
            envelope.content, policy=email.policy.default))
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login.decode() == USER \
            and data.password.decode() == PASSWORD
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A CA and a certificate for 127.0.0.1 signed by it: (ca.pem, cert.pem, key.pem)."""
    d = tmp_path_factory.mktemp("tls")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-days", "2", "-subj", "/CN=tracker test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "srv.csr",
            "-subj", "/CN=127.0.0.1")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "cert.pem", "-days", "2", "-extfile", "ext.cnf")
    return d / "ca.pem", d / "cert.pem", d / "key.pem"


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


@pytest.fixture
def starttls(certs: tuple[Path, Path, Path]) -> Iterator[tuple[Inbox, int]]:
    """A submission server that requires STARTTLS before AUTH."""
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port,
                            tls_context=server_context(certs[1], certs[2]),
                            require_starttls=True, auth_required=True,
                            authenticator=inbox.authenticate,
                            auth_exclude_mechanism=["LOGIN"])
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def smtps(certs: tuple[Path, Path, Path]) -> Iterator[tuple[Inbox, int]]:
    """A server speaking TLS from the first byte (port 465 style)."""
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port,
                            ssl_context=server_context(certs[1], certs[2]),
                            auth_required=True, authenticator=inbox.authenticate,
                            auth_require_tls=False)  # aiosmtpd: implicit TLS isn't "STARTTLS"
    controller.start()
    yield inbox, port
    controller.stop()


MESSAGE = (b"From: tracker@example.org\r\nTo: ana@example.org\r\nSubject: hello\r\n"
           b"Message-ID: <tls-test@example.org>\r\n\r\nbody\r\n")


def send(url: str) -> None:
    sender = transport.SmtpTransport(smtpurl.parse_smtp_url(url))
    sender.open()
    try:
        transport.send("Tracker <tracker@example.org>", "ana@example.org", MESSAGE)
    finally:
        transport.close()


def test_starttls_with_login(starttls: tuple[Inbox, int],
                             certs: tuple[Path, Path, Path]) -> None:
    inbox, port = starttls
    send(f"smtp://{USER}:s3cret%20pass@127.0.0.1:{port}?starttls=true&cafile={certs[0]}")
    assert inbox.logins == [USER]
    assert [m["Message-ID"] for m in inbox.messages] == ["<tls-test@example.org>"]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_with_login(smtps: tuple[Inbox, int],
                                 certs: tuple[Path, Path, Path]) -> None:
    inbox, port = smtps
    send(f"smtps://{USER}:s3cret%20pass@127.0.0.1:{port}?cafile={certs[0]}")
    assert inbox.logins == [USER] and len(inbox.messages) == 1


def test_wrong_password_and_untrusted_certificate_are_temporary(
        starttls: tuple[Inbox, int], certs: tuple[Path, Path, Path]) -> None:
    inbox, port = starttls
    # aiosmtpd 1.4 answers a failed AUTH by going silent: the timeout makes it a failure too
    with pytest.raises(transport.TemporaryFailure):
        send(f"smtp://{USER}:wrong@127.0.0.1:{port}?starttls=true&timeout=2&cafile={certs[0]}")
    with pytest.raises(transport.TemporaryFailure, match="cannot reach"):
        send(f"smtp://{USER}:s3cret%20pass@127.0.0.1:{port}?starttls=true")  # no cafile
    with pytest.raises(transport.TemporaryFailure):
        send(f"smtp://{USER}:s3cret%20pass@127.0.0.1:{port}")  # plain text: server refuses
    assert inbox.messages == []
