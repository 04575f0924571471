"""Amazon SES v2 ``SendEmail`` with the raw MIME message, through aiobotocore.

Raw content keeps our headers (Message-ID, List-Unsubscribe, Content-Language) exactly
as the other providers send them. AWS's own error codes decide what is worth a retry.
"""

from __future__ import annotations

import contextlib
from email.utils import parseaddr
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from spotilike.notifications.providers.port import (
    OutgoingEmail,
    PermanentDeliveryError,
    TransientDeliveryError,
)

__all__ = ["SesProvider"]

_TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "LimitExceededException",
        "ServiceUnavailable",
        "InternalFailure",
        "RequestTimeout",
    }
)


class SesProvider:
    name = "ses"

    def __init__(
        self,
        *,
        region: str,
        endpoint_url: str | None,
        access_key_id: str | None,
        secret_access_key: str | None,
        timeout: float,
    ) -> None:
        self._client_args: dict[str, Any] = {
            "region_name": region,
            "endpoint_url": endpoint_url,
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_access_key,
            # The queue retries with its own backoff; botocore's retries would hide attempts.
            "config": AioConfig(
                connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1}
            ),
        }
        self._exit_stack = contextlib.AsyncExitStack()
        self._client: Any = None

    async def start(self) -> None:
        self._client = await self._exit_stack.enter_async_context(
            get_session().create_client("sesv2", **self._client_args)
        )

    async def send(self, email: OutgoingEmail) -> str | None:
        if self._client is None:
            raise RuntimeError("SesProvider.start() was not called")
        try:
            answer = await self._client.send_email(
                FromEmailAddress=parseaddr(email.sender)[1],
                Destination={"ToAddresses": [email.recipient]},
                Content={"Raw": {"Data": email.mime().as_bytes()}},
            )
        except ClientError as refused:
            error = refused.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = int(refused.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            detail = f"SES {code or status}: {error.get('Message', '')}"[:1000]
            if code in _TRANSIENT_CODES or status >= 500 or status == 429:
                raise TransientDeliveryError(detail) from None
            raise PermanentDeliveryError(detail) from None
        except BotoCoreError as failed:
            raise TransientDeliveryError(f"SES unreachable: {failed}") from None
        message_id: str | None = answer.get("MessageId")
        return message_id

    async def aclose(self) -> None:
        await self._exit_stack.aclose()
        self._client = None
