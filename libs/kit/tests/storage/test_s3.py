"""What only the S3 adapter does: multipart streaming, presigned URLs, R2-style settings."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from storagesupport import MotoS3, chunked, pattern

from spotilike.kit.storage import PART_SIZE, S3Storage, StorageError

pytestmark = pytest.mark.integration

MIB = 1024 * 1024


async def test_a_large_stream_goes_up_in_parts_without_being_held(
    s3_storage: S3Storage, moto_s3: MotoS3, s3_bucket: str
) -> None:
    total = 20 * MIB + 12_345
    chunk = 64 * 1024
    block = pattern(chunk, seed=5)
    sent = hashlib.sha256()
    parts_seen_at_12_mib: list[list[int]] = []

    async def generated() -> AsyncIterator[bytes]:
        produced = 0
        while produced < total:
            if produced >= 12 * MIB and not parts_seen_at_12_mib:
                # Half-way through the stream, the first part must already be on the server:
                # the adapter uploads as it reads instead of collecting the whole body.
                async with moto_s3.client() as client:
                    uploads = await client.list_multipart_uploads(Bucket=s3_bucket)
                    (upload,) = uploads["Uploads"]
                    parts = await client.list_parts(
                        Bucket=s3_bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                parts_seen_at_12_mib.append([part["Size"] for part in parts.get("Parts", [])])
            piece = block[: min(chunk, total - produced)]
            produced += len(piece)
            sent.update(piece)
            yield piece

    stored = await s3_storage.put("uploads/big.ogg", generated())

    assert stored.size == total
    assert parts_seen_at_12_mib == [[PART_SIZE]]
    info = await s3_storage.stat("uploads/big.ogg")
    assert (info.size, info.content_type) == (total, "audio/ogg")
    received = hashlib.sha256()
    async with await s3_storage.get("uploads/big.ogg") as stream:
        async for piece in stream:
            received.update(piece)
    assert received.hexdigest() == sent.hexdigest()
    async with moto_s3.client() as client:
        assert (await client.list_multipart_uploads(Bucket=s3_bucket)).get("Uploads", []) == []


async def test_a_stream_that_fails_midway_aborts_its_upload(
    s3_storage: S3Storage, moto_s3: MotoS3, s3_bucket: str
) -> None:
    await s3_storage.put("uploads/keep.ogg", chunked(b"old content"))

    async def failing() -> AsyncIterator[bytes]:
        for _ in range(10 * MIB // (256 * 1024)):
            yield bytes(256 * 1024)
        raise ConnectionResetError("the uploader went away")

    with pytest.raises(ConnectionResetError):
        await s3_storage.put("uploads/keep.ogg", failing())

    async with moto_s3.client() as client:
        assert (await client.list_multipart_uploads(Bucket=s3_bucket)).get("Uploads", []) == []
    async with await s3_storage.get("uploads/keep.ogg") as stream:
        assert await stream.read_all() == b"old content"


async def test_a_body_of_exactly_one_part_is_a_single_put(s3_storage: S3Storage) -> None:
    data = pattern(PART_SIZE, seed=2)
    stored = await s3_storage.put("one-part.bin", chunked(data, 1 * MIB))
    assert stored.size == PART_SIZE
    async with await s3_storage.get("one-part.bin") as stream:
        assert await stream.read_all() == data


async def test_a_presigned_get_serves_the_object(s3_storage: S3Storage) -> None:
    data = pattern(100_000, seed=4)
    await s3_storage.put("tracks/1/seg.ts", chunked(data, 10_000))
    url = await s3_storage.presigned_get("tracks/1/seg.ts", expires_seconds=300)
    assert url is not None
    assert url.startswith(f"{s3_storage.endpoint_url}/{s3_storage.bucket}/tracks/1/seg.ts?")
    assert "X-Amz-Signature=" in url
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as response:
            assert response.status == 200
            assert await response.read() == data
        async with http.get(url, headers={"Range": "bytes=10-19"}) as response:
            assert response.status == 206
            assert await response.read() == data[10:20]


async def test_a_presigned_put_stores_what_the_client_sends(s3_storage: S3Storage) -> None:
    data = pattern(50_000, seed=6)
    url = await s3_storage.presigned_put(
        "uploads/direct.ogg", expires_seconds=300, content_type="audio/ogg", size=len(data)
    )
    assert url is not None
    assert "content-length%3Bcontent-type" in url
    async with (
        aiohttp.ClientSession() as http,
        http.put(url, data=data, headers={"Content-Type": "audio/ogg"}) as response,
    ):
        assert response.status == 200
    info = await s3_storage.stat("uploads/direct.ogg")
    assert (info.size, info.content_type) == (len(data), "audio/ogg")
    async with await s3_storage.get("uploads/direct.ogg") as stream:
        assert await stream.read_all() == data


async def test_an_explicit_content_type_wins_over_the_extension(s3_storage: S3Storage) -> None:
    await s3_storage.put("covers/a.bin", chunked(b"\x89PNG"), content_type="image/png")
    assert (await s3_storage.stat("covers/a.bin")).content_type == "image/png"
    await s3_storage.put("blob", chunked(b"x"))
    assert (await s3_storage.stat("blob")).content_type == "application/octet-stream"


async def test_copies_keep_their_content_type_when_published(s3_storage: S3Storage) -> None:
    await s3_storage.put("staging/j1/master.m3u8", chunked(b"#EXTM3U\n"))
    await s3_storage.put("staging/j1/160k/segment_00000.ts", chunked(b"\x47" * 188))
    await s3_storage.publish_prefix("staging/j1", "tracks/t1")
    master = await s3_storage.stat(await s3_storage.resolve("tracks/t1", "master.m3u8"))
    segment = await s3_storage.stat(await s3_storage.resolve("tracks/t1", "160k/segment_00000.ts"))
    assert master.content_type == "application/vnd.apple.mpegurl"
    assert segment.content_type == "video/mp2t"


async def test_a_missing_bucket_is_a_storage_error_not_a_missing_object(
    moto_s3: MotoS3,
) -> None:
    async with S3Storage(
        "no-such-bucket-here",
        endpoint_url=moto_s3.endpoint_url,
        access_key=moto_s3.access_key,
        secret_key=moto_s3.secret_key,
        session=moto_s3.session,
    ) as storage:
        with pytest.raises(StorageError) as caught:
            await storage.put("a", chunked(b"x"))
    assert type(caught.value) is StorageError
    assert "NoSuchBucket" in str(caught.value)


async def test_presigning_refuses_bad_expiry_and_sizes(s3_storage: S3Storage) -> None:
    with pytest.raises(ValueError, match="presigned"):
        await s3_storage.presigned_get("a", expires_seconds=0)
    with pytest.raises(ValueError, match="negative"):
        await s3_storage.presigned_put("a", expires_seconds=60, content_type="a/b", size=-1)
