"""The one port every email provider implements, and the two ways a send can fail."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

__all__ = [
    "DeliveryError",
    "EmailProvider",
    "OutgoingEmail",
    "PermanentDeliveryError",
    "TransientDeliveryError",
]


class DeliveryError(Exception):
    """The provider did not take the email; the message is what the admin sees."""


class TransientDeliveryError(DeliveryError):
    """Worth trying again later: a 4xx SMTP reply, a timeout, a throttled or down API."""


class PermanentDeliveryError(DeliveryError):
    """Trying again cannot help: a 5xx SMTP reply, a rejected address or message."""


@dataclass(frozen=True)
class OutgoingEmail:
    sender: str
    recipient: str
    subject: str
    text: str
    html: str
    message_id: str
    """``<...@domain>``: the same on every attempt, so a receiver can drop duplicates."""
    language: str
    headers: dict[str, str] = field(default_factory=dict)
    """Further headers (List-Unsubscribe and the like)."""

    def mime(self) -> EmailMessage:
        """The RFC 5322 message: multipart/alternative, plain text first, HTML last."""
        message = EmailMessage()
        # The body first: setting it drops every Content-* header already set.
        message.set_content(self.text, subtype="plain", charset="utf-8")
        message.add_alternative(self.html, subtype="html", charset="utf-8")
        message["From"] = self.sender
        message["To"] = self.recipient
        message["Subject"] = self.subject
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = self.message_id
        message["Content-Language"] = self.language
        # RFC 3834: automatic mail, so auto-responders do not answer it.
        message["Auto-Submitted"] = "auto-generated"
        for name, value in self.headers.items():
            message[name] = value
        return message


class EmailProvider(Protocol):
    name: str

    async def send(self, email: OutgoingEmail) -> str | None:
        """Hands the email over; the provider's message id when it gives one.

        Raises :class:`TransientDeliveryError` or :class:`PermanentDeliveryError`.
        """
        ...

    async def start(self) -> None:
        """Opens what sends share (an HTTP session); called once before the first send."""
        ...

    async def aclose(self) -> None: ...
