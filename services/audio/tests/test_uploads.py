"""Uploads: tickets, the streamed body, completion checks, and who may upload."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import asyncpg
import pytest
from audio_support import Audio, known_track

from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration

AudioApp = Callable[..., AbstractAsyncContextManager[Audio]]


async def outbox_topics(database: ScratchDatabase) -> list[tuple[str, dict[str, object]]]:
    connection = await asyncpg.connect(database.primary_dsn)
    try:
        rows = await connection.fetch("SELECT topic, payload FROM outbox ORDER BY id")
    finally:
        await connection.close()
    return [(row["topic"].split(".", 1)[-1], json.loads(row["payload"])) for row in rows]


async def test_an_artist_uploads_and_completes_and_the_pipeline_is_told(
    audio_app: AudioApp, audio_database: ScratchDatabase, tone: bytes
) -> None:
    track_id, artist_id = await known_track(audio_database)
    async with audio_app() as audio:
        headers = audio.artist(artist_id)
        upload_id = await audio.upload(track_id, headers, tone)
        progress = (await audio.http.get(f"/uploads/{upload_id}", headers=headers)).json()
        assert progress["received_bytes"] == len(tone)
        assert progress["progress"] == 100
        done = await audio.http.post(f"/uploads/{upload_id}/complete", headers=headers)
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "COMPLETED"
        again = await audio.http.post(f"/uploads/{upload_id}/complete", headers=headers)
        assert again.status_code == 200
    events = [
        p for topic, p in await outbox_topics(audio_database) if topic.endswith("upload.completed")
    ]
    mine = [e for e in events if e["upload_id"] == upload_id]
    assert len(mine) == 1
    assert mine[0]["size_bytes"] == len(tone)


async def test_tickets_are_refused_early_with_clear_problems(
    audio_app: AudioApp, audio_database: ScratchDatabase
) -> None:
    track_id, artist_id = await known_track(audio_database)
    draft_id, draft_artist = await known_track(audio_database, status="DRAFT")
    async with audio_app(max_upload_bytes=10_000) as audio:
        headers = audio.artist(artist_id)

        async def ticket(**body: object) -> tuple[int, str]:
            response = await audio.http.post(
                "/uploads",
                json={
                    "track_id": track_id,
                    "size_bytes": 5000,
                    "content_type": "audio/ogg",
                    **body,
                },
                headers=body.pop("headers", headers) if "headers" in body else headers,
            )
            return response.status_code, response.json().get("type", "")

        assert await ticket(size_bytes=20_000) == (
            413,
            "https://spotilike.dev/problems/audio/upload-too-large",
        )
        assert (await ticket(content_type="audio/mpeg"))[0] == 415
        other = await audio.http.post(
            "/uploads",
            json={"track_id": track_id, "size_bytes": 5000, "content_type": "audio/ogg"},
            headers=audio.artist(draft_artist),
        )
        assert other.status_code == 403
        listener = await audio.http.post(
            "/uploads",
            json={"track_id": track_id, "size_bytes": 5000, "content_type": "audio/ogg"},
            headers=audio.issuer.headers(roles=("USER",)),
        )
        assert listener.status_code == 403
        not_waiting = await audio.http.post(
            "/uploads",
            json={"track_id": draft_id, "size_bytes": 5000, "content_type": "audio/ogg"},
            headers=audio.artist(draft_artist),
        )
        assert not_waiting.status_code == 409


async def test_a_body_larger_than_declared_is_refused_before_it_is_read(
    audio_app: AudioApp, audio_database: ScratchDatabase, tone: bytes
) -> None:
    track_id, artist_id = await known_track(audio_database)
    async with audio_app(max_upload_bytes=len(tone) + 10) as audio:
        headers = audio.artist(artist_id)
        ticket = await audio.http.post(
            "/uploads",
            json={"track_id": track_id, "size_bytes": 100, "content_type": "audio/ogg"},
            headers=headers,
        )
        upload_id = ticket.json()["upload_id"]
        too_long = await audio.http.put(
            f"/uploads/{upload_id}/content", content=tone[:200], headers=headers
        )
        assert too_long.status_code == 413
        too_big = await audio.http.put(
            f"/uploads/{upload_id}/content", content=tone + b"x" * 100, headers=headers
        )
        assert too_big.status_code == 413


async def test_completion_refuses_what_is_not_an_ogg_file(
    audio_app: AudioApp, audio_database: ScratchDatabase
) -> None:
    track_id, artist_id = await known_track(audio_database)
    async with audio_app() as audio:
        headers = audio.artist(artist_id)
        upload_id = await audio.upload(track_id, headers, b"#EXTM3U\n#EXT-X-VERSION:3\n" * 20)
        done = await audio.http.post(f"/uploads/{upload_id}/complete", headers=headers)
        assert done.status_code == 422
        assert "not an Ogg file" in done.json()["detail"]
        view = (await audio.http.get(f"/uploads/{upload_id}", headers=headers)).json()
        assert view["status"] == "REJECTED"
    events = [
        p for topic, p in await outbox_topics(audio_database) if topic.endswith("upload.completed")
    ]
    assert upload_id not in {e["upload_id"] for e in events}


async def test_someone_elses_upload_is_not_found(
    audio_app: AudioApp, audio_database: ScratchDatabase, tone: bytes
) -> None:
    track_id, artist_id = await known_track(audio_database)
    async with audio_app() as audio:
        upload_id = await audio.upload(track_id, audio.artist(artist_id), tone)
        stranger = audio.issuer.headers(roles=("ARTIST", "USER"), artist_id=artist_id)
        for method, path in (
            ("GET", f"/uploads/{upload_id}"),
            ("POST", f"/uploads/{upload_id}/complete"),
            ("PUT", f"/uploads/{upload_id}/content"),
        ):
            response = await audio.http.request(method, path, headers=stranger, content=b"")
            assert response.status_code == 404, (method, path)
