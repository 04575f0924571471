"""Master links: a signed master.m3u8 URL for a player that fetches playlists without
headers (Safari's own HLS player), and everything such a link must not open."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import m3u8
import pytest
from streaming_support import Streaming, code_of, put_listener, put_track, query_of

from spotilike.streaming import playback_tokens
from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration

App = Callable[..., AbstractAsyncContextManager[Streaming]]


async def link_for(client: Streaming, track: uuid.UUID, user: uuid.UUID) -> str:
    response = await client.http.get(f"/stream/{track}/master-link", headers=client.listener(user))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "private, no-store"
    body = response.json()
    assert body["expires_in_seconds"] == client.app.state.runtime.settings.token_ttl_seconds
    url: str = body["url"]
    return url


async def test_a_master_link_plays_the_whole_chain_without_any_header(
    streaming_app: App, streaming_database: ScratchDatabase
) -> None:
    track = await put_track(streaming_database)
    user = uuid.uuid4()
    await put_listener(streaming_database, user, quality=160)
    async with streaming_app() as client:
        response = await client.http.get(
            f"/stream/{track}/master-link", headers=client.listener(user)
        )
        assert response.json()["qualities_kbps"] == [96, 160]
        url = await link_for(client, track, user)
        assert url.startswith(f"/stream/{track}/master.m3u8?")
        assert query_of(url)["u"] == str(user)

        master = await client.http.get(url)
        assert master.status_code == 200, master.text
        assert master.headers["cache-control"] == "private, no-store"
        variants = m3u8.loads(master.text).playlists
        # The listener's quality setting applies as it does with the JWT.
        assert [v.uri.split("/")[0] for v in variants] == ["96", "160"]
        media = await client.http.get(f"/stream/{track}/{variants[0].uri}")
        assert media.status_code == 200, media.text
        segment_uri = m3u8.loads(media.text).segments[0].uri
        segment = await client.http.get(f"/stream/{track}/96/{segment_uri}")
        assert segment.status_code == 200
        assert segment.headers["content-type"] == "video/mp2t"


async def test_a_master_link_opens_its_own_master_playlist_only(
    streaming_app: App, streaming_database: ScratchDatabase
) -> None:
    track, other_track = await put_track(streaming_database), await put_track(streaming_database)
    user, other_user = uuid.uuid4(), uuid.uuid4()
    async with streaming_app() as client:
        link = query_of(await link_for(client, track, user))
        token = link["t"]

        async def status_and_code(path: str) -> tuple[int, str | None]:
            response = await client.http.get(path)
            return response.status_code, code_of(response) if response.status_code >= 400 else None

        bad_signature = (403, "streaming/token-bad-signature")
        assert await status_and_code(f"/stream/{other_track}/master.m3u8?u={user}&t={token}") == (
            bad_signature
        )
        assert await status_and_code(f"/stream/{track}/master.m3u8?u={other_user}&t={token}") == (
            bad_signature
        )
        # Not a variant, a segment or the download.
        assert await status_and_code(f"/stream/{track}/96/index.m3u8?u={user}&t={token}") == (
            bad_signature
        )
        assert await status_and_code(f"/stream/{track}/96/segment_00000.ts?u={user}&t={token}") == (
            bad_signature
        )
        download = await client.http.get(f"/stream/{track}/download?u={user}&t={token}")
        assert download.status_code == 401

        # A variant's link, genuine and current, is not a master link either.
        variant_token = playback_tokens.issue(
            client.app.state.runtime.settings.keys,
            user_id=str(user),
            track_id=str(track),
            quality="96",
            now=time.time(),
        )
        assert await status_and_code(f"/stream/{track}/master.m3u8?u={user}&t={variant_token}") == (
            bad_signature
        )

        expired = playback_tokens.issue(
            client.app.state.runtime.settings.keys,
            user_id=str(user),
            track_id=str(track),
            quality="master",
            now=time.time() - 600,
        )
        assert await status_and_code(f"/stream/{track}/master.m3u8?u={user}&t={expired}") == (
            403,
            "streaming/token-expired",
        )
        assert await status_and_code(f"/stream/{track}/master.m3u8?u={user}") == (
            401,
            "auth/missing-token",
        )
        assert await status_and_code(f"/stream/{track}/master.m3u8?u=nobody&t={token}") == (
            403,
            "streaming/token-malformed",
        )


async def test_a_master_link_is_refused_with_the_reason_when_the_track_is_not_playable(
    streaming_app: App, streaming_database: ScratchDatabase
) -> None:
    artist = uuid.uuid4()
    unpublished = await put_track(streaming_database, artist_id=artist, published=False)
    async with streaming_app() as client:
        refused = await client.http.get(
            f"/stream/{unpublished}/master-link", headers=client.listener(uuid.uuid4())
        )
        assert refused.status_code == 403
        assert code_of(refused) == "streaming/track-unavailable"
        anonymous = await client.http.get(f"/stream/{unpublished}/master-link")
        assert anonymous.status_code == 401


async def test_a_master_link_stops_working_once_the_track_is_unpublished(
    streaming_app: App, streaming_database: ScratchDatabase
) -> None:
    track = await put_track(streaming_database)
    user = uuid.uuid4()
    async with streaming_app(rights_cache_seconds=0) as client:
        url = await link_for(client, track, user)
        assert (await client.http.get(url)).status_code == 200
        await put_track(streaming_database, track_id=track, published=False, revision=2)
        refused = await client.http.get(url)
        assert refused.status_code == 403
        assert code_of(refused) == "streaming/track-unavailable"
