"""Journey 1, through the gateway only: a new user becomes an artist, publishes a track
through the real pipeline, and a listener plays it with a real HLS client."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from e2e_support import PASSWORD, Platform, bearer, link_in_mail, log_in, sign_up

from spotilike.contracts.events.playback import PlaybackEndedV1, PlaybackStartedV1
from spotilike.kit.events import CloudEvent
from spotilike.tools.demo.music import DemoSong, write_ogg
from spotilike.tools.probes import PCM_BYTES_PER_SECOND, decode_hls, eventually, find_event

pytestmark = pytest.mark.e2e

SONG_SECONDS = 8.0


async def test_artist_publishes_and_a_listener_plays_through_the_gateway(
    platform: Platform, tmp_path: Path
) -> None:
    email = f"artist-{uuid.uuid4().hex[:8]}@journey.spotilike.dev"
    async with platform.client() as http:
        user_id, first_token = await sign_up(http, email)

        verification = link_in_mail(platform, email, r"verif")
        token = parse_qs(urlsplit(verification).query)["token"][0]
        verified = await http.post("/auth/email/verify", json={"token": token})
        assert verified.status_code in (200, 204), verified.text
        me = await http.get("/users/me", headers=bearer(first_token))
        assert me.json()["email_verified"] is True

        admin = bearer(
            (await log_in(http, platform.accounts.admin_email, platform.accounts.admin_password))[
                "access_token"
            ]
        )
        artist = await http.post(
            "/catalog/artists", json={"name": f"Journey {uuid.uuid4().hex[:6]}"}, headers=admin
        )
        assert artist.status_code == 201, artist.text
        artist_id = artist.json()["id"]
        granted = await http.post(
            f"/admin/users/{user_id}/roles",
            json={"role": "ARTIST", "artist_id": artist_id},
            headers=admin,
        )
        assert granted.status_code == 200, granted.text

        artist_headers = bearer((await log_in(http, email, PASSWORD))["access_token"])
        album = await http.post(
            "/catalog/albums",
            json={"artist_id": artist_id, "title": "First Steps"},
            headers=artist_headers,
        )
        assert album.status_code == 201, album.text
        track = await http.post(
            "/catalog/tracks",
            json={"album_id": album.json()["id"], "title": "Opening", "track_number": 1},
            headers=artist_headers,
        )
        assert track.status_code == 201, track.text
        track_id = track.json()["id"]
        requested = await http.post(
            f"/catalog/tracks/{track_id}/request-upload", headers=artist_headers
        )
        assert requested.status_code == 200, requested.text

        ogg = write_ogg(
            DemoSong(title="Opening", seconds=SONG_SECONDS, seed=4242, style="pop"),
            tmp_path / "opening.ogg",
        ).read_bytes()
        ticket: httpx.Response | None = None

        async def accepted() -> bool:
            nonlocal ticket
            ticket = await http.post(
                "/audio/uploads",
                json={"track_id": track_id, "size_bytes": len(ogg), "content_type": "audio/ogg"},
                headers=artist_headers,
            )
            return ticket.status_code == 201

        await eventually(accepted, seconds=30, interval=0.5)
        assert ticket is not None
        upload = ticket.json()
        put = await http.put(
            urlsplit(upload["upload_url"]).path,
            content=ogg,
            headers=artist_headers | {"Content-Type": "audio/ogg"},
        )
        assert put.status_code == 200, put.text
        completed = await http.post(
            f"/audio/uploads/{upload['upload_id']}/complete", headers=artist_headers
        )
        assert completed.status_code == 200, completed.text

        async def ready() -> bool:
            view = await http.get(f"/catalog/tracks/{track_id}", headers=artist_headers)
            assert view.json()["status"] != "FAILED", view.text
            return view.json()["status"] == "READY"

        await eventually(ready, seconds=300, interval=1.0)
        for path in (
            f"/catalog/tracks/{track_id}/publish",
            f"/catalog/albums/{album.json()['id']}/publish",
        ):
            published = await http.post(path, headers=artist_headers)
            assert published.status_code == 200, published.text

        listener = (
            await log_in(
                http, platform.accounts.listener_email, platform.accounts.listener_password
            )
        )["access_token"]

        async def playable() -> bool:
            master = await http.get(f"/stream/{track_id}/master.m3u8", headers=bearer(listener))
            return master.status_code == 200

        await eventually(playable, seconds=30, interval=0.5)

    decoded = await asyncio.to_thread(
        decode_hls, f"{platform.base_url}/stream/{track_id}/master.m3u8", token=listener
    )
    assert decoded.returncode == 0, decoded.stderr.decode()
    assert decoded.stderr == b""
    assert abs(len(decoded.stdout) / PCM_BYTES_PER_SECOND - SONG_SECONDS) < 0.2

    session = str(uuid.uuid4())
    async with platform.client() as http:
        for event in (
            {"type": "started", "session_id": session, "position_ms": 0, "quality_kbps": 160},
            {"type": "ended", "session_id": session, "position_ms": 1000},
        ):
            reported = await http.post(
                f"/stream/{track_id}/events", json=event, headers=bearer(listener)
            )
            assert reported.status_code == 202, reported.text

    def of_session(event: CloudEvent) -> bool:
        payload = event.payload()
        return isinstance(payload, PlaybackStartedV1 | PlaybackEndedV1) and (
            str(payload.session_id) == session
        )

    bootstrap = platform.endpoints.kafka_bootstrap
    started = (await find_event(bootstrap, PlaybackStartedV1.topic, of_session)).payload()
    ended = (await find_event(bootstrap, PlaybackEndedV1.topic, of_session)).payload()
    assert isinstance(started, PlaybackStartedV1)
    assert str(started.track_id) == track_id
    assert isinstance(ended, PlaybackEndedV1)
    assert ended.counted is False
