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
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
from spotilike.kit.storage.s3_connection import (
    AddressingStyle,
    S3Connection,
    error_code,
    storage_error,
    translated,
)
from spotilike.kit.storage.s3_uploads import PART_SIZE, upload_stream

__all__ = ["PART_SIZE", "AddressingStyle", "S3Storage"]

_COPY_CONCURRENCY = 16
_POINTER_MAX_BYTES = 256


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
        self.endpoint_url = endpoint_url
        self.region = region
        self.addressing_style = addressing_style
        self._connection = S3Connection(
            session or get_session(),
            endpoint_url=endpoint_url,
            region=region,
            access_key=access_key,
            secret_key=secret_key,
            addressing_style=addressing_style,
        )

    async def _s3(self) -> Any:
        return await self._connection.client()

    async def aclose(self) -> None:
        await self._connection.aclose()

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
        return await upload_stream(
            client, bucket=self.bucket, key=key, content_type=kind, chunks=chunks
        )

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
            if byte_range is not None and error_code(error) == "InvalidRange":
                size = (await self.stat(key)).size
                raise RangeNotSatisfiable(key, byte_range[0], size) from None
            raise storage_error(error, key) from error
        except BotoCoreError as error:
            raise storage_error(error, key) from error
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
            with translated(key):
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
        with translated(key):
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
        with translated(key):
            await client.delete_object(Bucket=self.bucket, Key=key)

    async def delete_prefix(self, prefix: str) -> int:
        base = folder(prefix)
        client = await self._s3()
        deleted = 0
        with translated(base):
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
        with translated(base):
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
                with translated(source):
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
        with translated(final):
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
        with translated(key):
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


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
