"""SendGrid's v3 Mail Send API (``POST /v3/mail/send``), through the kit's HTTP client.

SendGrid builds the MIME message itself from the parts, so the custom headers travel
in ``headers``; it answers 202 with the message id in ``X-Message-Id``.
"""

from __future__ import annotations

from email.utils import parseaddr

from spotilike.kit.http import RetryPolicy, ServiceClient, UpstreamUnavailableError
from spotilike.notifications.providers.port import (
    OutgoingEmail,
    PermanentDeliveryError,
    TransientDeliveryError,
)

__all__ = ["SendGridProvider"]

# Who may answer again later: throttling, an outage, or a key being rotated.
_TRANSIENT_STATUSES = frozenset({401, 403, 408, 429})


class SendGridProvider:
    name = "sendgrid"

    def __init__(self, *, api_url: str, api_key: str, timeout: float) -> None:
        # The queue retries with its own backoff; the client must not retry a POST too.
        self._client = ServiceClient(
            "sendgrid",
            api_url,
            attempt_timeout=timeout,
            retry=RetryPolicy(max_attempts=1),
            headers={"Authorization": f"Bearer {api_key}"},
        )

    async def start(self) -> None:
        await self._client.__aenter__()

    async def send(self, email: OutgoingEmail) -> str | None:
        sender_name, sender_address = parseaddr(email.sender)
        body = {
            "personalizations": [{"to": [{"email": email.recipient}]}],
            "from": {"email": sender_address, **({"name": sender_name} if sender_name else {})},
            "subject": email.subject,
            "content": [
                {"type": "text/plain", "value": email.text},
                {"type": "text/html", "value": email.html},
            ],
            "headers": {
                "Content-Language": email.language,
                "Auto-Submitted": "auto-generated",
                **email.headers,
            },
            "custom_args": {"message_id": email.message_id},
        }
        try:
            response = await self._client.post("/v3/mail/send", json=body)
        except UpstreamUnavailableError as failed:
            raise TransientDeliveryError(f"SendGrid unreachable: {failed}") from None
        if response.status in (200, 202):
            return response.headers.get("X-Message-Id")
        detail = f"SendGrid {response.status}: {response.text()[:500]}"
        if response.status >= 500 or response.status in _TRANSIENT_STATUSES:
            raise TransientDeliveryError(detail)
        raise PermanentDeliveryError(detail)

    async def aclose(self) -> None:
        await self._client.close()
