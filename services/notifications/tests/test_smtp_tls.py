"""The SMTP provider over STARTTLS and implicit TLS, against a real SMTP server (aiosmtpd)
that refuses mail and credentials until the connection is encrypted."""

from __future__ import annotations

import email
import email.policy
import ipaddress
import socket
import ssl
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from spotilike.notifications.providers import OutgoingEmail, SmtpProvider, TransientDeliveryError
from spotilike.notifications.settings import NotificationsSettings, SmtpSecurity

pytestmark = [
    pytest.mark.integration,
    # aiosmtpd warns about AUTH without required TLS even when TLS starts with the first
    # byte (the implicit-TLS server below), where its TLS check cannot see the encryption.
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]

USERNAME, PASSWORD = "spotilike", "s3cret-over-tls"
EACH_TLS_MODE = pytest.mark.parametrize(
    ("security", "implicit_tls"), [(SmtpSecurity.STARTTLS, False), (SmtpSecurity.TLS, True)]
)


@dataclass
class Inbox:
    messages: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope)
        return "250 OK"


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    valid = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USERNAME.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=valid)


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1, standing in for a mail provider's."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "spotilike test smtp")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_file, key_file)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_server(certificate: Certificate, *, implicit_tls: bool) -> Iterator[tuple[int, Inbox]]:
    """An SMTP server on 127.0.0.1 that takes mail only from an authenticated client, and
    credentials only over TLS: STARTTLS required, or TLS from the first byte."""
    inbox = Inbox()
    port = _free_port()
    tls = certificate.server_context()
    # With TLS from the first byte aiosmtpd does not see the session as encrypted, so it
    # would offer no AUTH at all if told to require TLS for it.
    encryption: dict[str, Any] = (
        {"ssl_context": tls, "auth_require_tls": False}
        if implicit_tls
        else {"tls_context": tls, "require_starttls": True, "auth_require_tls": True}
    )
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticate,
        auth_required=True,
        **encryption,
    )
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def _settings(port: int, security: SmtpSecurity, **overrides: Any) -> NotificationsSettings:
    return NotificationsSettings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security=security,
        smtp_username=USERNAME,
        smtp_password=PASSWORD,
        smtp_timeout_seconds=10,
        **overrides,
    )


def _email() -> OutgoingEmail:
    return OutgoingEmail(
        sender="Spotilike <no-reply@spotilike.dev>",
        recipient="ada@example.com",
        subject="Welcome",
        text="Hello, Ada\n",
        html="<p>Hello, Ada</p>",
        message_id=f"<{uuid.uuid4()}@spotilike.dev>",
        language="en",
        headers={},
    )


@EACH_TLS_MODE
async def test_mail_goes_out_encrypted_and_authenticated(
    certificate: Certificate, security: SmtpSecurity, implicit_tls: bool
) -> None:
    with smtp_server(certificate, implicit_tls=implicit_tls) as (port, inbox):
        provider = SmtpProvider(_settings(port, security, smtp_ca_file=str(certificate.cert_file)))
        outgoing = _email()

        message_id = await provider.send(outgoing)

    assert message_id == outgoing.message_id
    [envelope] = inbox.messages
    assert envelope.mail_from == "no-reply@spotilike.dev"
    assert envelope.rcpt_tos == ["ada@example.com"]
    assert isinstance(envelope.content, bytes)
    received = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert received["Message-ID"] == outgoing.message_id


@EACH_TLS_MODE
async def test_a_certificate_nobody_vouches_for_stops_the_mail_before_the_password(
    certificate: Certificate, security: SmtpSecurity, implicit_tls: bool
) -> None:
    # No CA file: the system's trust store does not know this certificate, so the
    # handshake fails and neither the credentials nor the mail leave.
    with smtp_server(certificate, implicit_tls=implicit_tls) as (port, inbox):
        provider = SmtpProvider(_settings(port, security))

        with pytest.raises(TransientDeliveryError, match=r"(?i)certificate"):
            await provider.send(_email())

    assert inbox.messages == []
