"""Streamed writes to S3: a body that fits in one :data:`PART_SIZE` part goes up in one
``PutObject``, a longer one as a multipart upload that is aborted if it fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import structlog
from botocore.exceptions import BotoCoreError, ClientError

from spotilike.kit.storage.port import StoredObject
from spotilike.kit.storage.s3_connection import translated

__all__ = ["PART_SIZE", "upload_stream"]

PART_SIZE = 8 * 1024 * 1024

_log = structlog.get_logger(__name__)


async def upload_stream(
    client: Any, *, bucket: str, key: str, content_type: str, chunks: AsyncIterable[bytes]
) -> StoredObject:
    """Stores ``chunks`` under ``key``, holding at most about two parts in memory."""
    iterator = aiter(chunks)
    buffer = bytearray()
    if await _fill(iterator, buffer, PART_SIZE + 1):
        return await _put_parts(
            client, bucket=bucket, key=key, kind=content_type, iterator=iterator, buffer=buffer
        )
    with translated(key):
        await client.put_object(
            Bucket=bucket, Key=key, Body=bytes(buffer), ContentType=content_type
        )
    return StoredObject(key=key, size=len(buffer))


async def _put_parts(
    client: Any,
    *,
    bucket: str,
    key: str,
    kind: str,
    iterator: AsyncIterator[bytes],
    buffer: bytearray,
) -> StoredObject:
    with translated(key):
        created = await client.create_multipart_upload(Bucket=bucket, Key=key, ContentType=kind)
    upload_id = created["UploadId"]
    parts: list[dict[str, Any]] = []
    size = 0
    more = True
    try:
        while True:
            if more:
                more = await _fill(iterator, buffer, PART_SIZE + 1)
            if not buffer:
                break
            piece = bytes(buffer[:PART_SIZE])
            del buffer[:PART_SIZE]
            with translated(key):
                uploaded = await client.upload_part(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=len(parts) + 1,
                    Body=piece,
                )
            parts.append({"ETag": uploaded["ETag"], "PartNumber": len(parts) + 1})
            size += len(piece)
        with translated(key):
            await client.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
    except BaseException:
        await _abort(client, bucket, key, upload_id)
        raise
    return StoredObject(key=key, size=size)


async def _abort(client: Any, bucket: str, key: str, upload_id: str) -> None:
    try:
        await client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except (ClientError, BotoCoreError) as error:
        _log.warning("storage.abort_failed", key=key, upload_id=upload_id, error=str(error))


async def _fill(iterator: AsyncIterator[bytes], buffer: bytearray, size: int) -> bool:
    """Read chunks into ``buffer`` until it holds ``size`` bytes; ``False`` if the stream ended."""
    while len(buffer) < size:
        try:
            chunk = await anext(iterator)
        except StopAsyncIteration:
            return False
        buffer += chunk
    return True
