"""Stored playlists as the play path reads them: a missing or malformed one is our fault
and says so without internals, and each key is read from storage once."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import m3u8
import pytest
from streaming_support import MEDIA_PREFIX, Streaming, code_of, put_track, query_of

from spotilike.streaming.service.media import MAX_PLAYLIST_BYTES
from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration

App = Callable[..., AbstractAsyncContextManager[Streaming]]


def copy_set(storage: Path, prefix: str) -> Path:
    folder = storage / prefix
    shutil.copytree(storage / MEDIA_PREFIX, folder)
    return folder


async def test_a_missing_or_oversized_stored_playlist_is_a_502_without_internals(
    streaming_app: App, streaming_database: ScratchDatabase, media_storage: Path
) -> None:
    missing = await put_track(
        streaming_database, manifest_key="tracks/gone/versions/v1/master.m3u8"
    )
    huge_set = copy_set(media_storage, "tracks/huge/versions/v1")
    (huge_set / "master.m3u8").write_text("#EXTM3U\n" + "#" * MAX_PLAYLIST_BYTES)
    huge = await put_track(streaming_database, manifest_key="tracks/huge/versions/v1/master.m3u8")
    async with streaming_app() as client:
        for track in (missing, huge):
            response = await client.http.get(
                f"/stream/{track}/master.m3u8", headers=client.listener(uuid.uuid4())
            )
            assert response.status_code == 502
            assert response.headers["content-type"].startswith("application/problem+json")
            assert code_of(response) == "streaming/media-unavailable"
            assert response.json()["track_id"] == str(track)
            assert "tracks/" not in response.text


async def test_each_stored_playlist_is_read_once_and_a_new_version_is_read_anew(
    streaming_app: App, streaming_database: ScratchDatabase, media_storage: Path
) -> None:
    first = copy_set(media_storage, "tracks/t/versions/v1")
    track = await put_track(streaming_database, manifest_key="tracks/t/versions/v1/master.m3u8")
    user = uuid.uuid4()
    async with streaming_app(rights_cache_seconds=0) as client:

        async def variants() -> list[str]:
            response = await client.http.get(
                f"/stream/{track}/master.m3u8", headers=client.listener(user)
            )
            assert response.status_code == 200, response.text
            return [v.uri for v in m3u8.loads(response.text).playlists]

        async def media(variant: str) -> int:
            response = await client.http.get(f"/stream/{track}/{variant}")
            assert response.status_code == 200, response.text
            return len(m3u8.loads(response.text).segments)

        listed = await variants()
        assert [uri.split("/")[0] for uri in listed] == ["96", "160", "320"]
        segments = await media(listed[0])
        (first / "master.m3u8").unlink()
        (first / "96" / "index.m3u8").unlink()
        # Gone from storage, still served: each key was read once, and keys never change.
        again = await variants()
        assert [uri.split("/")[0] for uri in again] == ["96", "160", "320"]
        assert query_of(again[0])["u"] == str(user)
        assert await media(again[0]) == segments

        second = copy_set(media_storage, "tracks/t/versions/v2")
        master = m3u8.load(str(second / "master.m3u8"))
        master.playlists = m3u8.PlaylistList(
            [v for v in master.playlists if not v.uri.startswith("320/")]
        )
        (second / "master.m3u8").write_text(master.dumps())
        await put_track(
            streaming_database,
            track_id=track,
            manifest_key="tracks/t/versions/v2/master.m3u8",
            revision=2,
        )
        assert [uri.split("/")[0] for uri in await variants()] == ["96", "160"]
