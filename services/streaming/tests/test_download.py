"""The download route's RFC 9110 byte ranges, on the real file in storage."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from streaming_support import DOWNLOAD_KEY, Streaming, code_of, put_track

from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration

App = Callable[..., AbstractAsyncContextManager[Streaming]]


async def test_every_range_case(
    streaming_app: App, streaming_database: ScratchDatabase, media_storage: Path
) -> None:
    track = await put_track(streaming_database)
    data = (media_storage / DOWNLOAD_KEY).read_bytes()
    size = len(data)
    async with streaming_app() as client:
        headers = client.listener(uuid.uuid4())
        path = f"/stream/{track}/download"

        async def get(**extra: str) -> tuple[int, dict[str, str], bytes]:
            response = await client.http.get(path, headers=headers | extra)
            return response.status_code, dict(response.headers), response.content

        status, full_headers, body = await get()
        assert status == 200
        assert body == data
        assert full_headers["accept-ranges"] == "bytes"
        assert full_headers["content-type"] == "audio/mp4"
        assert full_headers["content-length"] == str(size)
        assert "attachment" in full_headers["content-disposition"]
        etag = full_headers["etag"]
        assert etag.startswith('"')
        assert "last-modified" in full_headers

        status, h, body = await get(Range="bytes=0-99")
        assert (status, h["content-range"], body) == (206, f"bytes 0-99/{size}", data[:100])
        assert h["content-length"] == "100"

        status, h, body = await get(Range="bytes=-100")
        assert (status, h["content-range"], body) == (
            206,
            f"bytes {size - 100}-{size - 1}/{size}",
            data[-100:],
        )

        status, h, body = await get(Range="bytes=1000-")
        assert (status, h["content-range"], body) == (
            206,
            f"bytes 1000-{size - 1}/{size}",
            data[1000:],
        )

        status, h, body = await get(Range=f"bytes={size - 10}-{size + 5000}")
        assert (status, body) == (206, data[-10:])

        response = await client.http.get(path, headers=headers | {"Range": f"bytes={size}-"})
        assert response.status_code == 416
        assert response.headers["content-range"] == f"bytes */{size}"
        assert code_of(response) == "streaming/range-not-satisfiable"

        # Overlapping ranges are merged into one, never sent as many copies.
        status, h, body = await get(Range="bytes=0-99,50-149,100-199")
        assert (status, h["content-range"], body) == (206, f"bytes 0-199/{size}", data[:200])

        # Disjoint or too many ranges: the whole file once, not a multipart amplification.
        status, h, body = await get(Range="bytes=0-0,100-100,200-200")
        assert (status, body) == (200, data)
        many = ",".join(f"{i}-{i}" for i in range(0, 1000, 10))
        status, h, body = await get(Range=f"bytes={many}")
        assert (status, len(body)) == (200, size)
        status, _, _ = await get(Range="bytes=" + "0-0," * 400)
        assert status == 422

        status, h, body = await get(Range="bytes=0-99", **{"If-Range": etag})
        assert (status, body) == (206, data[:100])
        status, h, body = await get(Range="bytes=0-99", **{"If-Range": '"stale"'})
        assert (status, body) == (200, data)

        for malformed in ("bytes=abc", "bytes=5-1", "items=0-1", "bytes="):
            status, _, body = await get(Range=malformed)
            assert (status, len(body)) == (200, size), malformed


async def test_download_needs_rights_and_a_file(
    streaming_app: App, streaming_database: ScratchDatabase
) -> None:
    without_file = await put_track(streaming_database, download_key=None)
    unpublished = await put_track(streaming_database, published=False)
    async with streaming_app() as client:
        headers = client.listener(uuid.uuid4())
        missing = await client.http.get(f"/stream/{without_file}/download", headers=headers)
        assert (missing.status_code, code_of(missing)) == (404, "streaming/no-download")
        hidden = await client.http.get(f"/stream/{unpublished}/download", headers=headers)
        assert (hidden.status_code, code_of(hidden)) == (403, "streaming/track-unavailable")
        anonymous = await client.http.get(f"/stream/{unpublished}/download")
        assert anonymous.status_code == 401


async def test_peaks_are_served_to_those_who_may_play(
    streaming_app: App, streaming_database: ScratchDatabase, media_storage: Path
) -> None:
    track = await put_track(streaming_database)
    hidden = await put_track(streaming_database, published=False)
    async with streaming_app() as client:
        headers = client.listener(uuid.uuid4())
        response = await client.http.get(f"/stream/{track}/peaks.json", headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        assert response.json()["data"] == [-10, 12, -8, 9]
        refused = await client.http.get(f"/stream/{hidden}/peaks.json", headers=headers)
        assert (refused.status_code, code_of(refused)) == (403, "streaming/track-unavailable")
        anonymous = await client.http.get(f"/stream/{track}/peaks.json")
        assert anonymous.status_code == 401
