"""On S3/R2 the service reads renditions through presigned GET URLs cached in Valkey."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import m3u8
import pytest
import redis.asyncio as redis
from aiobotocore.session import get_session
from streaming_support import DOWNLOAD_KEY, MEDIA_PREFIX, Streaming, put_track

from spotilike.tools.moto_server import MotoServer
from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration

App = Callable[..., AbstractAsyncContextManager[Streaming]]


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        f"{MEDIA_PREFIX}/{path.relative_to(folder).as_posix()}": path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


async def upload_set(moto: MotoServer, bucket: str, files: dict[str, bytes]) -> None:
    async with get_session().create_client(
        "s3",
        endpoint_url=moto.endpoint_url,
        region_name=moto.region,
        aws_access_key_id=moto.access_key,
        aws_secret_access_key=moto.secret_key,
    ) as client:
        await client.create_bucket(Bucket=bucket)
        for key, body in files.items():
            await client.put_object(Bucket=bucket, Key=key, Body=body)


def presign_cache_key(prefix: str, key: str) -> str:
    return f"spotilike:{prefix}streaming:presigned:{hashlib.sha256(key.encode()).hexdigest()}"


async def test_playback_and_ranges_read_through_cached_presigned_urls(
    streaming_app: App,
    streaming_database: ScratchDatabase,
    moto_server: MotoServer,
    hls_media: Path,
    redis_url: str,
) -> None:
    bucket = f"media-{uuid.uuid4().hex[:12]}"
    files = files_of(hls_media)
    await upload_set(moto_server, bucket, files)
    track = await put_track(streaming_database)
    prefix = f"t{uuid.uuid4().hex[:8]}."
    valkey = redis.Redis.from_url(redis_url)
    segment_key = f"{MEDIA_PREFIX}/160/segment_00001.ts"
    try:
        async with streaming_app(
            topic_prefix=prefix,
            storage_url=f"s3://{bucket}?endpoint={moto_server.endpoint_url}",
            storage_access_key=moto_server.access_key,
            storage_secret_key=moto_server.secret_key,
            presign_seconds=300,
            presign_cache_seconds=120,
        ) as client:
            headers = client.listener(uuid.uuid4())
            master = await client.http.get(f"/stream/{track}/master.m3u8", headers=headers)
            assert master.status_code == 200, master.text
            variant = next(v.uri for v in m3u8.loads(master.text).playlists if v.uri[:3] == "160")
            media = await client.http.get(f"/stream/{track}/{variant}")
            assert media.status_code == 200, media.text
            segment_uri = m3u8.loads(media.text).segments[1].uri
            segment = await client.http.get(f"/stream/{track}/160/{segment_uri}")
            assert segment.status_code == 200
            assert segment.content == files[segment_key]

            cached = await valkey.get(presign_cache_key(prefix, segment_key))
            assert cached is not None
            assert b"Signature" in cached or b"X-Amz-Signature" in cached
            assert 0 < await valkey.ttl(presign_cache_key(prefix, segment_key)) <= 120

            # A cached URL the bucket refuses is dropped and signed again, once.
            await valkey.set(
                presign_cache_key(prefix, segment_key),
                f"{moto_server.endpoint_url}/{bucket}/{segment_key}?X-Amz-Signature=forged"
                "&X-Amz-Expires=1&X-Amz-Date=20000101T000000Z&X-Amz-Credential=x"
                "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-SignedHeaders=host",
                ex=120,
            )
            again = await client.http.get(f"/stream/{track}/160/{segment_uri}")
            assert again.status_code == 200
            assert again.content == segment.content

            data = files[DOWNLOAD_KEY]
            ranged = await client.http.get(
                f"/stream/{track}/download", headers=headers | {"Range": "bytes=100-199"}
            )
            assert ranged.status_code == 206
            assert ranged.headers["content-range"] == f"bytes 100-199/{len(data)}"
            assert ranged.content == data[100:200]
    finally:
        await valkey.aclose()
