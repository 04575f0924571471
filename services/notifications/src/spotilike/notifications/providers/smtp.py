"""SMTP through aiosmtplib: plain (the local sink), STARTTLS or implicit TLS.

One connection per email: sends are spread over minutes by the queue, and a pooled
connection would mostly be a connection the server has already timed out.
"""

from __future__ import annotations

import ssl
from email.utils import parseaddr

import aiosmtplib

from spotilike.notifications.providers.port import (
    OutgoingEmail,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from spotilike.notifications.settings import NotificationsSettings, SmtpSecurity

__all__ = ["SmtpProvider"]


class SmtpProvider:
    name = "smtp"

    def __init__(self, settings: NotificationsSettings) -> None:
        self._host = settings.smtp_host
        self._port = settings.smtp_port
        self._security = settings.smtp_security
        self._username = settings.smtp_username
        password = settings.smtp_password
        self._password = password.get_secret_value() if password is not None else None
        self._timeout = settings.smtp_timeout_seconds
        self._tls_context: ssl.SSLContext | None = None
        if self._security is not SmtpSecurity.NONE:
            context = ssl.create_default_context(cafile=settings.smtp_ca_file)
            if not settings.smtp_validate_certs:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._tls_context = context

    async def send(self, email: OutgoingEmail) -> str | None:
        try:
            await aiosmtplib.send(
                email.mime(),
                sender=parseaddr(email.sender)[1],
                recipients=[email.recipient],
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._security is SmtpSecurity.TLS,
                # False, not None: aiosmtplib's None upgrades whenever the server offers
                # it, which for "none" would fail against a sink with a made-up cert.
                start_tls=self._security is SmtpSecurity.STARTTLS,
                tls_context=self._tls_context,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as refused:
            codes = [recipient.code for recipient in refused.recipients]
            detail = "; ".join(f"{r.code} {r.message}" for r in refused.recipients)
            if all(code >= 500 for code in codes):
                raise PermanentDeliveryError(f"SMTP refused the recipient: {detail}") from None
            raise TransientDeliveryError(f"SMTP refused the recipient: {detail}") from None
        except aiosmtplib.SMTPResponseException as refused:
            detail = f"SMTP {refused.code} {refused.message}"
            if refused.code >= 500:
                raise PermanentDeliveryError(detail) from None
            raise TransientDeliveryError(detail) from None
        except (aiosmtplib.SMTPException, OSError) as failed:
            # Connection refused, timed out or dropped: nothing was accepted, try later.
            raise TransientDeliveryError(f"SMTP {type(failed).__name__}: {failed}") from None
        return email.message_id

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None
