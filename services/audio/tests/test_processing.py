"""One processing run, in process: outputs, events, idempotency, refusals."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import asyncpg
import m3u8
import pytest
from audio_support import Audio, known_track, make_ogg

from spotilike.audio import repository
from spotilike.audio.service.processing import process_upload
from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration

AudioApp = Callable[..., AbstractAsyncContextManager[Audio]]


async def completed_upload(audio: Audio, database: ScratchDatabase, data: bytes) -> tuple[str, str]:
    track_id, artist_id = await known_track(database)
    headers = audio.artist(artist_id)
    upload_id = await audio.upload(track_id, headers, data)
    done = await audio.http.post(f"/uploads/{upload_id}/complete", headers=headers)
    assert done.status_code == 200, done.text
    runtime = audio.app.state.runtime
    async with runtime.database.transaction() as session:
        assert await repository.queue_job(
            session, upload_id=uuid.UUID(upload_id), track_id=uuid.UUID(track_id)
        )
    return upload_id, track_id


async def events(database: ScratchDatabase, topic: str) -> list[dict[str, object]]:
    connection = await asyncpg.connect(database.primary_dsn)
    try:
        rows = await connection.fetch("SELECT topic, payload FROM outbox ORDER BY id")
    finally:
        await connection.close()
    return [json.loads(r["payload"]) for r in rows if r["topic"].endswith(topic)]


async def test_a_real_ogg_becomes_three_hls_renditions_published_at_once(
    audio_app: AudioApp, audio_database: ScratchDatabase, tmp_path: Path
) -> None:
    source = make_ogg(tmp_path / "song.ogg", seconds=20)
    async with audio_app() as audio:
        upload_id, track_id = await completed_upload(audio, audio_database, source.read_bytes())
        runtime = audio.app.state.runtime
        outcome = await process_upload(runtime, uuid.UUID(upload_id))
        assert outcome.status == "SUCCEEDED", outcome
        again = await process_upload(runtime, uuid.UUID(upload_id))
        assert again.status == "SKIPPED"
        status = (
            await audio.http.get(f"/processing/status/{track_id}", headers=audio.admin())
        ).json()
        assert status["status"] == "SUCCEEDED"
        assert status["progress"] == 100
        assert set(status["stage_seconds"]) == {"fetch", "analyse", "transcode", "publish"}
        storage = runtime.storage
        [done] = [
            e
            for e in await events(audio_database, "processing.completed")
            if e["upload_id"] == upload_id
        ]
        master_key = str(done["master_playlist_key"])
        assert master_key.startswith(f"tracks/{track_id}/versions/")
        async with await storage.get(master_key) as stream:
            master = m3u8.loads((await stream.read_all()).decode())
    assert master.is_variant
    assert (
        sorted(p.stream_info.bandwidth > p.stream_info.average_bandwidth for p in master.playlists)
        == [True] * 3
    )
    assert {p.stream_info.codecs for p in master.playlists} == {"mp4a.40.2"}
    assert abs(int(done["duration_ms"]) - 20_000) < 500
    assert [r["bitrate_kbps"] for r in done["renditions"]] == [96, 160, 320]  # type: ignore[union-attr]
    assert isinstance(done["gain_db"], float)
    assert len(await events(audio_database, "processing.completed")) >= 1


async def test_a_refused_upload_ends_failed_with_a_reason_and_no_output(
    audio_app: AudioApp, audio_database: ScratchDatabase, tmp_path: Path
) -> None:
    good = make_ogg(tmp_path / "cut.ogg", seconds=20).read_bytes()
    truncated = good[: len(good) // 3]
    async with audio_app() as audio:
        upload_id, track_id = await completed_upload(audio, audio_database, truncated)
        runtime = audio.app.state.runtime
        outcome = await process_upload(runtime, uuid.UUID(upload_id))
        assert outcome.status == "FAILED"
        assert outcome.reason
        listed = [info.key async for info in runtime.storage.list(f"tracks/{track_id}")]
        staged = [info.key async for info in runtime.storage.list(f"staging/{upload_id}")]
    assert listed == []
    assert staged == []
    [failed] = [
        e for e in await events(audio_database, "processing.failed") if e["upload_id"] == upload_id
    ]
    assert failed["reason"] == outcome.reason
    assert "Traceback" not in str(failed["reason"])


async def test_two_concurrent_runs_for_one_upload_make_one_output_set(
    audio_app: AudioApp, audio_database: ScratchDatabase, tmp_path: Path
) -> None:
    source = make_ogg(tmp_path / "twice.ogg", seconds=12)
    async with audio_app() as audio:
        upload_id, track_id = await completed_upload(audio, audio_database, source.read_bytes())
        runtime = audio.app.state.runtime
        outcomes = await asyncio.gather(
            process_upload(runtime, uuid.UUID(upload_id)),
            process_upload(runtime, uuid.UUID(upload_id)),
        )
        versions = {
            info.key.split("/")[3]
            async for info in runtime.storage.list(f"tracks/{track_id}/versions")
        }
    assert sorted(o.status for o in outcomes) == ["SKIPPED", "SUCCEEDED"]
    assert len(versions) == 1
    completed = [
        e
        for e in await events(audio_database, "processing.completed")
        if e["upload_id"] == upload_id
    ]
    assert len(completed) == 1
