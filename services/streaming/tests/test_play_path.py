"""The play path end to end on the ASGI app: master → media playlist → segments, the
rights each step checks, and every way a playback link can be tampered with."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import m3u8
import pytest
from streaming_support import (
    MEDIA_PREFIX,
    Streaming,
    code_of,
    put_listener,
    put_track,
    query_of,
    raw_get,
)

from spotilike.streaming import playback_tokens
from spotilike.streaming.playback_tokens import PlaybackKeys
from spotilike.tools.pytest_plugin import ScratchDatabase, TokenIssuer, served_in_thread

pytestmark = pytest.mark.integration

App = Callable[..., AbstractAsyncContextManager[Streaming]]
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"


async def master_variants(
    client: Streaming, track_id: uuid.UUID, user: uuid.UUID
) -> dict[int, str]:
    response = await client.http.get(
        f"/stream/{track_id}/master.m3u8", headers=client.listener(user)
    )
    assert response.status_code == 200, response.text
    playlist = m3u8.loads(response.text)
    return {int(v.uri.split("/")[0]): v.uri for v in playlist.playlists}


async def test_master_media_and_segments_chain_with_signed_relative_links(
    streaming_app: App, streaming_database: ScratchDatabase, media_storage: Path
) -> None:
    track = await put_track(streaming_database)
    user = uuid.uuid4()
    async with streaming_app() as client:
        response = await client.http.get(
            f"/stream/{track}/master.m3u8", headers=client.listener(user)
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(PLAYLIST_TYPE)
        assert response.headers["cache-control"] == "private, no-store"
        assert "ratelimit" in response.headers
        master = m3u8.loads(response.text)
        assert master.is_independent_segments
        assert [v.stream_info.bandwidth for v in master.playlists] == [105600, 176000, 352000]
        assert all(v.stream_info.codecs == "mp4a.40.2" for v in master.playlists)
        for variant in master.playlists:
            assert not variant.uri.startswith("/")
            assert query_of(variant.uri)["u"] == str(user)

        variant_uri = master.playlists[0].uri
        media = await client.http.get(f"/stream/{track}/{variant_uri}")
        assert media.status_code == 200, media.text
        playlist = m3u8.loads(media.text)
        assert playlist.is_endlist
        assert len(playlist.segments) == 3
        segment_uri = playlist.segments[0].uri
        assert segment_uri.startswith("segment_00000.ts?u=")

        segment = await client.http.get(f"/stream/{track}/96/{segment_uri}")
        assert segment.status_code == 200, segment.text
        assert segment.headers["content-type"] == "video/mp2t"
        assert segment.headers["cache-control"] == "private, max-age=300, immutable"
        expected = (media_storage / MEDIA_PREFIX / "96" / "segment_00000.ts").read_bytes()
        assert segment.content == expected
        assert int(segment.headers["content-length"]) == len(expected)


async def test_quality_setting_caps_the_variants_and_higher_links_are_refused(
    streaming_app: App, streaming_database: ScratchDatabase
) -> None:
    track = await put_track(streaming_database)
    user = uuid.uuid4()
    await put_listener(streaming_database, user, quality=160)
    async with streaming_app() as client:
        variants = await master_variants(client, track, user)
        assert sorted(variants) == [96, 160]
        # A genuine 320 link, signed with the service's key, still meets the setting.
        keys = client.app.state.runtime.settings.keys
        token = playback_tokens.issue(
            keys, user_id=str(user), track_id=str(track), quality="320", now=time.time()
        )
        response = await client.http.get(f"/stream/{track}/320/index.m3u8?u={user}&t={token}")
        assert response.status_code == 403
        assert code_of(response) == "streaming/quality-not-allowed"


async def test_every_tampering_of_a_link_is_refused(
    streaming_app: App, streaming_database: ScratchDatabase
) -> None:
    track_a = await put_track(streaming_database)
    track_b = await put_track(streaming_database)
    user, other = uuid.uuid4(), uuid.uuid4()
    async with streaming_app() as client:
        link = query_of((await master_variants(client, track_a, user))[96])
        token, kid, expiry, mac = link["t"], *link["t"].split(".")
        good = await client.http.get(f"/stream/{track_a}/96/index.m3u8?u={user}&t={token}")
        assert good.status_code == 200

        foreign_keys = PlaybackKeys({kid: b"k" * 32}, current=kid)
        forged = playback_tokens.issue(
            foreign_keys, user_id=str(user), track_id=str(track_a), quality="96", now=time.time()
        )
        rotated_out = playback_tokens.issue(
            PlaybackKeys({"old": b"o" * 32}, current="old"),
            user_id=str(user),
            track_id=str(track_a),
            quality="96",
            now=time.time(),
        )
        expired = playback_tokens.issue(
            client.app.state.runtime.settings.keys,
            user_id=str(user),
            track_id=str(track_a),
            quality="96",
            now=time.time() - 400,
        )
        cases = {
            "track B with track A's token": (
                f"/stream/{track_b}/96/index.m3u8",
                user,
                token,
                "bad-signature",
            ),
            "another user": (f"/stream/{track_a}/96/index.m3u8", other, token, "bad-signature"),
            "another quality": (f"/stream/{track_a}/160/index.m3u8", user, token, "bad-signature"),
            "later expiry": (
                f"/stream/{track_a}/96/index.m3u8",
                user,
                f"{kid}.{int(expiry) + 60}.{mac}",
                "bad-signature",
            ),
            "edited mac": (
                f"/stream/{track_a}/96/index.m3u8",
                user,
                f"{kid}.{expiry}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}",
                "bad-signature",
            ),
            "signed with another secret": (
                f"/stream/{track_a}/96/index.m3u8",
                user,
                forged,
                "bad-signature",
            ),
            "unknown kid": (f"/stream/{track_a}/96/index.m3u8", user, rotated_out, "unknown-key"),
            "expired": (f"/stream/{track_a}/96/index.m3u8", user, expired, "expired"),
            "garbage": (f"/stream/{track_a}/96/index.m3u8", user, "not-a-token", "malformed"),
            "segment of track B": (
                f"/stream/{track_b}/96/segment_00000.ts",
                user,
                token,
                "bad-signature",
            ),
        }
        for name, (path, as_user, attempt, reason) in cases.items():
            response = await client.http.get(path, params={"u": str(as_user), "t": attempt})
            assert response.status_code == 403, name
            assert response.headers["content-type"] == "application/problem+json", name
            assert code_of(response) == f"streaming/token-{reason}", name


@pytest.mark.parametrize(
    "segment",
    [
        "../96/segment_00000.ts",
        "..%2f96%2fsegment_00000.ts",
        "%2e%2e%2fmaster.m3u8",
        "%252e%252e%252fmaster.m3u8",
        "..%5cmaster.m3u8",
        "segment_00000.ts%00.png",
        "segment_00000.ts%2500",
        "..%c0%afmaster.m3u8",
        "SEGMENT_00000.TS",
        "segment_0000.ts",
        "segment_00000.ts.",
        "%2e%2e",
        "..",
        ".",
    ],
)
def test_traversal_names_never_reach_storage(
    make_app: Callable[..., Any],
    streaming_database: ScratchDatabase,
    token_issuer: TokenIssuer,
    segment: str,
) -> None:
    user = uuid.uuid4()

    async def attempt(base_url: str) -> tuple[int, bytes]:
        track = await put_track(streaming_database)
        async with httpx.AsyncClient(base_url=base_url) as http:
            response = await http.get(
                f"/stream/{track}/master.m3u8", headers=token_issuer.headers(str(user))
            )
        assert response.status_code == 200, response.text
        variant = m3u8.loads(response.text).playlists[0].uri
        token = query_of(variant)["t"]
        return await raw_get(base_url, f"/stream/{track}/96/{segment}?u={user}&t={token}")

    with served_in_thread(make_app()) as base_url:
        status, body = asyncio.run(attempt(base_url))
    assert status in (400, 404), body
    assert b"#EXTM3U" not in body
    assert b"streaming/" in body or status == 404


@pytest.mark.parametrize(
    ("quality", "expected"), [("..", 404), ("%2e%2e", 404), ("96x", 404), ("0096", 404)]
)
async def test_quality_segment_of_the_path_is_a_closed_set(
    streaming_app: App, streaming_database: ScratchDatabase, quality: str, expected: int
) -> None:
    track = await put_track(streaming_database)
    user = uuid.uuid4()
    async with streaming_app() as client:
        link = query_of((await master_variants(client, track, user))[96])
        response = await client.http.get(
            f"/stream/{track}/{quality}/segment_00000.ts?u={user}&t={link['t']}"
        )
    assert response.status_code == expected, response.text


async def test_rights_from_the_projection(
    streaming_app: App, streaming_database: ScratchDatabase
) -> None:
    artist = uuid.uuid4()
    unpublished = await put_track(streaming_database, artist_id=artist, published=False)
    processing = await put_track(streaming_database, status="PROCESSING", manifest_key=None)
    deleted = await put_track(streaming_database, deleted=True)
    explicit = await put_track(streaming_database, explicit=True)
    user, careful, disabled = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await put_listener(streaming_database, careful, explicit_allowed=False)
    await put_listener(streaming_database, disabled, disabled=True)
    async with streaming_app() as client:

        async def master(track: uuid.UUID, headers: dict[str, str]) -> tuple[int, str | None]:
            response = await client.http.get(f"/stream/{track}/master.m3u8", headers=headers)
            code = code_of(response) if response.status_code != 200 else None
            return response.status_code, code

        listener = client.listener(user)
        assert await master(unpublished, listener) == (403, "streaming/track-unavailable")
        owner = client.listener(uuid.uuid4(), artist_id=str(artist))
        assert await master(unpublished, owner) == (200, None)
        admin = client.issuer.headers(str(uuid.uuid4()), roles=("ADMIN", "USER"))
        assert await master(unpublished, admin) == (200, None)
        assert await master(processing, listener) == (403, "streaming/track-not-ready")
        assert await master(deleted, listener) == (404, "streaming/track-not-found")
        assert await master(uuid.uuid4(), listener) == (404, "streaming/track-not-found")
        assert await master(explicit, listener) == (200, None)
        assert await master(explicit, client.listener(careful)) == (
            403,
            "streaming/explicit-content-blocked",
        )
        assert await master(explicit, client.listener(disabled)) == (
            403,
            "streaming/account-disabled",
        )
        anonymous = await client.http.get(f"/stream/{explicit}/master.m3u8")
        assert anonymous.status_code == 401


async def test_a_link_stops_working_once_the_track_is_unpublished(
    streaming_app: App, streaming_database: ScratchDatabase
) -> None:
    track = await put_track(streaming_database)
    user = uuid.uuid4()
    async with streaming_app(rights_cache_seconds=0.5) as client:
        link = query_of((await master_variants(client, track, user))[96])
        path = f"/stream/{track}/96/segment_00001.ts?u={user}&t={link['t']}"
        assert (await client.http.get(path)).status_code == 200
        await put_track(streaming_database, track_id=track, published=False, revision=2)
        # The instance may answer from its cache for at most rights_cache_seconds.
        await asyncio.sleep(0.6)
        refused = await client.http.get(path)
        assert refused.status_code == 403
        assert code_of(refused) == "streaming/track-unavailable"
