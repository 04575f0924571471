"""The hourly cleanup: old work directories, orphaned staging sets, superseded versions,
and jobs whose enqueue was lost."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import asyncpg
import pytest
from audio_support import Audio, known_track

from spotilike.audio.service.cleanup import clean_up, stale_queued
from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration

AudioApp = Callable[..., AbstractAsyncContextManager[Audio]]


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_cleanup_removes_what_is_old_and_keeps_what_is_current(
    audio_app: AudioApp,
) -> None:
    async with audio_app(cleanup_after_seconds=60) as audio:
        runtime = audio.app.state.runtime
        settings = runtime.settings
        old_work = settings.work_dir / str(uuid.uuid4())
        fresh_work = settings.work_dir / str(uuid.uuid4())
        for folder in (old_work, fresh_work):
            folder.mkdir(parents=True)
            (folder / "original.ogg").write_bytes(b"OggS")
        an_hour_ago = time.time() - 3600
        os.utime(old_work, (an_hour_ago, an_hour_ago))

        storage = runtime.storage
        await storage.put("staging/orphan/master.m3u8", chunks(b"#EXTM3U\n"))
        await storage.put("staging/fresh/master.m3u8", chunks(b"#EXTM3U\n"))
        orphan_file = settings.storage_url.removeprefix("file://") + "/staging/orphan/master.m3u8"
        os.utime(orphan_file, (an_hour_ago, an_hour_ago))

        report = await clean_up(runtime)

        assert not old_work.exists()
        assert fresh_work.exists()
        assert not await storage.exists("staging/orphan/master.m3u8")
        assert await storage.exists("staging/fresh/master.m3u8")
    assert report.work_dirs == 1
    assert report.staging_prefixes == 1
    assert "orphaned staging/orphan" in report.details


async def test_jobs_queued_too_long_are_handed_back_for_enqueueing(
    audio_app: AudioApp, audio_database: ScratchDatabase
) -> None:
    track_id, _ = await known_track(audio_database)
    stale, fresh = uuid.uuid4(), uuid.uuid4()
    connection = await asyncpg.connect(audio_database.primary_dsn)
    try:
        for upload_id, age in ((stale, "1 hour"), (fresh, "0 seconds")):
            await connection.execute(
                "INSERT INTO jobs (upload_id, track_id, status, progress, stage_seconds, attempts,"
                f" updated_at) VALUES ($1, $2, 'QUEUED', 0, '{{}}', 0, now() - interval '{age}')",
                upload_id,
                uuid.UUID(track_id),
            )
    finally:
        await connection.close()
    async with audio_app(stale_queued_seconds=60) as audio:
        first = await stale_queued(audio.app.state.runtime)
        again = await stale_queued(audio.app.state.runtime)
    assert str(stale) in first
    assert str(fresh) not in first
    assert str(stale) not in again  # touched: not handed out twice in a row
