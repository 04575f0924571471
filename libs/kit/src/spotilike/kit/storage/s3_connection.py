"""The botocore side of the S3 adapter: one client with the settings R2 needs, opened on
first use, and botocore's errors turned into :class:`StorageError` and its subclasses.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any, Literal

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.exceptions import BotoCoreError, ClientError

from spotilike.kit.storage.errors import NotFoundInStorage, StorageError

__all__ = ["AddressingStyle", "S3Connection", "error_code", "storage_error", "translated"]

AddressingStyle = Literal["path", "virtual", "auto"]

_NOT_FOUND = frozenset({"NoSuchKey", "NotFound", "404"})


class S3Connection:
    """An aiobotocore S3 client, created by the first :meth:`client` call; :meth:`aclose`."""

    def __init__(
        self,
        session: AioSession,
        *,
        endpoint_url: str | None,
        region: str,
        access_key: str | None,
        secret_key: str | None,
        addressing_style: AddressingStyle,
    ) -> None:
        self._session = session
        self._endpoint_url = endpoint_url
        self._region = region
        self._access_key = access_key
        self._secret_key = secret_key
        self._config = AioConfig(
            s3={"addressing_style": addressing_style},
            signature_version="s3v4",
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
        )
        self._client: Any = None
        self._opening = asyncio.Lock()
        self._exits = contextlib.AsyncExitStack()

    async def client(self) -> Any:
        if self._client is None:
            async with self._opening:
                if self._client is None:
                    creator = self._session.create_client(
                        "s3",
                        endpoint_url=self._endpoint_url,
                        region_name=self._region,
                        aws_access_key_id=self._access_key,
                        aws_secret_access_key=self._secret_key,
                        config=self._config,
                    )
                    self._client = await self._exits.enter_async_context(creator)
        return self._client

    async def aclose(self) -> None:
        self._client = None
        await self._exits.aclose()


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def storage_error(error: ClientError | BotoCoreError, key: str) -> StorageError:
    if isinstance(error, ClientError):
        if error_code(error) in _NOT_FOUND:
            return NotFoundInStorage(key)
        return StorageError(f"S3 refused an operation on {key!r}: {error_code(error) or error}")
    return StorageError(f"S3 failed on {key!r}: {type(error).__name__}")


@contextlib.contextmanager
def translated(key: str) -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise storage_error(error, key) from error
