"""The S3-compatible adapter (Cloudflare R2, Amazon S3, MinIO) on aiobotocore.

R2's needs are the defaults: region ``auto``, path-style addressing, and checksums only
where an operation requires them (``when_required`` for requests and responses), since
R2 rejects some of the checksum headers newer botocore sends by default. Signatures are
SigV4.

Writes stream: a body of up to :data:`PART_SIZE` bytes goes up in one ``PutObject``;
anything longer goes up as a multipart upload of :data:`PART_SIZE` parts, so at most
about two parts are in memory at once. A failed or cancelled multipart upload is
aborted; one whose abort also fails is left to the bucket's
``AbortIncompleteMultipartUpload`` lifecycle rule, which production buckets should
have. 10,000 parts of 8 MiB cap an object at 80 GiB.

Publishing (see :mod:`spotilike.kit.storage.publishing`) copies every staging object
server-side into ``<final>/versions/<version>/``, then writes ``<final>/CURRENT``, then
deletes the staging objects. ``CopyObject`` handles objects up to 5 GiB, far above what
the platform stores per HLS file. If a copy fails, the new version's objects are
deleted and the pointer is not touched; the staging objects stay for a retry.

Client errors come out as :class:`StorageError` (or :class:`NotFoundInStorage`,
:class:`RangeNotSatisfiable`), so callers never import botocore.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import structlog
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import BotoCoreError, ClientError

from spotilike.kit.storage.errors import NotFoundInStorage, RangeNotSatisfiable, StorageError
from spotilike.kit.storage.keys import folder, guess_content_type, validate_key
from spotilike.kit.storage.localfiles import file_chunks, write_atomically
from spotilike.kit.storage.port import (
    CHUNK_SIZE,
    ObjectInfo,
    ObjectStream,
    StoredObject,
    check_expiry,
)
from spotilike.kit.storage.publishing import (
    check_disjoint,
    is_version,
    new_version,
    parse_pointer,
    pointer_key,
    prunable_versions,
    published_key,
    versions_prefix,
)

__all__ = ["PART_SIZE", "AddressingStyle", "S3Storage"]

PART_SIZE = 8 * 1024 * 1024
AddressingStyle = Literal["path", "virtual", "auto"]

_COPY_CONCURRENCY = 16
_NOT_FOUND = frozenset({"NoSuchKey", "NotFound", "404"})
_POINTER_MAX_BYTES = 256

_log = structlog.get_logger(__name__)


class S3Storage:
    """Objects in one bucket. The client is opened on first use; call :meth:`aclose`.

    Without ``access_key``/``secret_key`` botocore's usual chain applies (environment,
    shared config, instance role). Adapters built with one ``session`` share botocore's
    loaded service models, which take a noticeable part of a second to load per session.
    """

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None,
        region: str = "auto",
        access_key: str | None = None,
        secret_key: str | None = None,
        addressing_style: AddressingStyle = "path",
        session: AioSession | None = None,
    ) -> None:
        self.bucket = bucket
        self._session = session or get_session()
        self.endpoint_url = endpoint_url
        self.region = region
        self._access_key = access_key
        self._secret_key = secret_key
        self.addressing_style = addressing_style
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

    async def _s3(self) -> Any:
        if self._client is None:
            async with self._opening:
                if self._client is None:
                    creator = self._session.create_client(
                        "s3",
                        endpoint_url=self.endpoint_url,
                        region_name=self.region,
                        aws_access_key_id=self._access_key,
                        aws_secret_access_key=self._secret_key,
                        config=self._config,
                    )
                    self._client = await self._exits.enter_async_context(creator)
        return self._client

    async def aclose(self) -> None:
        self._client = None
        await self._exits.aclose()

    async def __aenter__(self) -> S3Storage:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str | None = None
    ) -> StoredObject:
        validate_key(key)
        client = await self._s3()
        kind = content_type or guess_content_type(key) or "application/octet-stream"
        iterator = aiter(chunks)
        buffer = bytearray()
        if await _fill(iterator, buffer, PART_SIZE + 1):
            return await self._put_parts(client, key, kind, iterator, buffer)
        with _translated(key):
            await client.put_object(
                Bucket=self.bucket, Key=key, Body=bytes(buffer), ContentType=kind
            )
        return StoredObject(key=key, size=len(buffer))

    async def _put_parts(
        self,
        client: Any,
        key: str,
        kind: str,
        iterator: AsyncIterator[bytes],
        buffer: bytearray,
    ) -> StoredObject:
        with _translated(key):
            created = await client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType=kind
            )
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
                with _translated(key):
                    uploaded = await client.upload_part(
                        Bucket=self.bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=len(parts) + 1,
                        Body=piece,
                    )
                parts.append({"ETag": uploaded["ETag"], "PartNumber": len(parts) + 1})
                size += len(piece)
            with _translated(key):
                await client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
        except BaseException:
            await self._abort(client, key, upload_id)
            raise
        return StoredObject(key=key, size=size)

    async def _abort(self, client: Any, key: str, upload_id: str) -> None:
        try:
            await client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except (ClientError, BotoCoreError) as error:
            _log.warning("storage.abort_failed", key=key, upload_id=upload_id, error=str(error))

    async def put_file(
        self, key: str, path: Path, *, content_type: str | None = None
    ) -> StoredObject:
        return await self.put(key, file_chunks(path), content_type=content_type)

    async def get(self, key: str) -> ObjectStream:
        return await self._get(key, None)

    async def get_range(self, key: str, start: int, end: int | None = None) -> ObjectStream:
        if start < 0 or (end is not None and end < start):
            raise ValueError(f"invalid byte range {start}-{end}")
        return await self._get(key, (start, end))

    async def _get(self, key: str, byte_range: tuple[int, int | None] | None) -> ObjectStream:
        validate_key(key)
        client = await self._s3()
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if byte_range is not None:
            start, end = byte_range
            params["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            response = await client.get_object(**params)
        except ClientError as error:
            if byte_range is not None and _code(error) == "InvalidRange":
                size = (await self.stat(key)).size
                raise RangeNotSatisfiable(key, byte_range[0], size) from None
            raise _storage_error(error, key) from error
        except BotoCoreError as error:
            raise _storage_error(error, key) from error
        body = response["Body"]
        size = int(response["ContentLength"])
        object_size = size
        if byte_range is not None:
            content_range = response.get("ContentRange")
            if not content_range:
                body.close()
                raise StorageError(f"the server ignored the range asked for {key!r}")
            object_size = int(content_range.rsplit("/", 1)[1])

        async def read() -> bytes:
            with _translated(key):
                chunk: bytes = await body.read(CHUNK_SIZE)
            return chunk

        async def close() -> None:
            body.close()

        return ObjectStream(
            read=read,
            close=close,
            size=size,
            object_size=object_size,
            content_type=response.get("ContentType"),
        )

    async def stat(self, key: str) -> ObjectInfo:
        validate_key(key)
        client = await self._s3()
        with _translated(key):
            head = await client.head_object(Bucket=self.bucket, Key=key)
        return ObjectInfo(
            key=key,
            size=int(head["ContentLength"]),
            content_type=head.get("ContentType"),
            modified_at=_utc(head["LastModified"]),
        )

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
        except NotFoundInStorage:
            return False
        return True

    async def delete(self, key: str) -> None:
        validate_key(key)
        client = await self._s3()
        with _translated(key):
            await client.delete_object(Bucket=self.bucket, Key=key)

    async def delete_prefix(self, prefix: str) -> int:
        base = folder(prefix)
        client = await self._s3()
        deleted = 0
        with _translated(base):
            async for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=base
            ):
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if not keys:
                    continue
                response = await client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True}
                )
                if failures := response.get("Errors"):
                    raise StorageError(f"could not delete {len(failures)} objects under {base!r}")
                deleted += len(keys)
        return deleted

    async def list(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        base = folder(prefix, allow_root=True)
        client = await self._s3()
        with _translated(base):
            async for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=base
            ):
                for item in page.get("Contents", []):
                    yield ObjectInfo(
                        key=item["Key"],
                        size=int(item["Size"]),
                        content_type=None,
                        modified_at=_utc(item["LastModified"]),
                    )

    async def download_to(self, key: str, path: Path) -> StoredObject:
        async with await self.get(key) as stream:
            size = await write_atomically(path, stream)
        return StoredObject(key=key, size=size)

    async def presigned_get(self, key: str, *, expires_seconds: int) -> str | None:
        validate_key(key)
        expires = check_expiry(expires_seconds)
        client = await self._s3()
        url: str = await client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires
        )
        return url

    async def presigned_put(
        self, key: str, *, expires_seconds: int, content_type: str, size: int
    ) -> str | None:
        validate_key(key)
        expires = check_expiry(expires_seconds)
        if size < 0:
            raise ValueError("size must not be negative")
        client = await self._s3()
        url: str = await client.generate_presigned_url(
            "put_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ContentType": content_type,
                "ContentLength": size,
            },
            ExpiresIn=expires,
        )
        return url

    async def publish_prefix(self, staging_prefix: str, final_prefix: str) -> int:
        staging, final = check_disjoint(staging_prefix, final_prefix)
        version = new_version()
        target = versions_prefix(final) + version + "/"
        copies = [
            (info.key, validate_key(target + info.key.removeprefix(staging)))
            async for info in self.list(staging)
        ]
        if not copies:
            raise NotFoundInStorage(staging)
        client = await self._s3()
        limit = asyncio.Semaphore(_COPY_CONCURRENCY)

        async def copy(source: str, destination: str) -> None:
            async with limit:
                with _translated(source):
                    await client.copy_object(
                        Bucket=self.bucket,
                        Key=destination,
                        CopySource={"Bucket": self.bucket, "Key": source},
                    )

        try:
            async with asyncio.TaskGroup() as group:
                for source, destination in copies:
                    group.create_task(copy(source, destination))
        except ExceptionGroup as failure:
            await self.delete_prefix(target)
            raise StorageError(f"publishing {staging!r} to {final!r} failed") from failure
        with _translated(final):
            await client.put_object(
                Bucket=self.bucket,
                Key=pointer_key(final),
                Body=version.encode("ascii"),
                ContentType="text/plain",
                CacheControl="no-cache",
            )
        await self.delete_prefix(staging)
        return len(copies)

    async def current_version(self, final_prefix: str) -> str:
        version, _written_at = await self._read_pointer(final_prefix)
        return version

    async def _read_pointer(self, final_prefix: str) -> tuple[str, datetime]:
        key = pointer_key(final_prefix)
        client = await self._s3()
        with _translated(key):
            response = await client.get_object(Bucket=self.bucket, Key=key)
            async with response["Body"] as body:
                content: bytes = await body.read(_POINTER_MAX_BYTES)
        return parse_pointer(key, content), _utc(response["LastModified"])

    async def resolve(self, final_prefix: str, name: str) -> str:
        validate_key(name)
        return published_key(final_prefix, await self.current_version(final_prefix), name)

    async def prune_versions(self, final_prefix: str, *, grace_seconds: float) -> int:
        cutoff = datetime.now(UTC) - timedelta(seconds=grace_seconds)
        try:
            current: str | None
            written_at: datetime | None
            current, written_at = await self._read_pointer(final_prefix)
        except NotFoundInStorage:
            current, written_at = None, None
        base = versions_prefix(final_prefix)
        versions: dict[str, datetime] = {}
        async for info in self.list(base):
            version = info.key.removeprefix(base).split("/", 1)[0]
            if is_version(version):
                newest = versions.get(version, info.modified_at)
                versions[version] = max(newest, info.modified_at)
        deleted = 0
        for version in prunable_versions(
            versions, current=current, pointer_written_at=written_at, cutoff=cutoff
        ):
            deleted += await self.delete_prefix(base + version)
        return deleted


async def _fill(iterator: AsyncIterator[bytes], buffer: bytearray, size: int) -> bool:
    """Read chunks into ``buffer`` until it holds ``size`` bytes; ``False`` if the stream ended."""
    while len(buffer) < size:
        try:
            chunk = await anext(iterator)
        except StopAsyncIteration:
            return False
        buffer += chunk
    return True


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _storage_error(error: ClientError | BotoCoreError, key: str) -> StorageError:
    if isinstance(error, ClientError):
        if _code(error) in _NOT_FOUND:
            return NotFoundInStorage(key)
        return StorageError(f"S3 refused an operation on {key!r}: {_code(error) or error}")
    return StorageError(f"S3 failed on {key!r}: {type(error).__name__}")


@contextlib.contextmanager
def _translated(key: str) -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise _storage_error(error, key) from error


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
