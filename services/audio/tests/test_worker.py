"""The pipeline with a real Celery worker: through Kafka, and surviving a killed worker."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import psutil
import pytest
from audio_support import known_track, make_ogg, serve

from spotilike.audio.app import create_audio_app
from spotilike.audio.settings import AudioSettings
from spotilike.audio.tasks import PROCESS_TASK, celery_app
from spotilike.tools.pytest_plugin import ScratchDatabase, ScratchTopics, TokenIssuer

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def env_for(settings: AudioSettings) -> dict[str, str]:
    values = {
        "SPOTILIKE_ENV": "test",
        "SPOTILIKE_AUDIO_DATABASE_URL": settings.database_url,
        "SPOTILIKE_AUDIO_STORAGE_URL": settings.storage_url,
        "SPOTILIKE_AUDIO_WORK_DIR": str(settings.work_dir),
        "SPOTILIKE_AUDIO_CELERY_BROKER_URL": settings.celery_broker_url,
        "SPOTILIKE_AUDIO_CELERY_QUEUE": settings.celery_queue,
        "SPOTILIKE_AUDIO_WORKER_CONCURRENCY": "1",
        "SPOTILIKE_AUDIO_LOG_JSON": "true",
    }
    return {**os.environ, **values}


@pytest.fixture
def worker_settings(
    settings_factory: Callable[..., AudioSettings], redis_url: str
) -> AudioSettings:
    broker = redis_url.rsplit("/", 1)[0] + "/1"
    return settings_factory(celery_broker_url=broker, celery_queue=f"audio-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def worker(worker_settings: AudioSettings, tmp_path: Path) -> Iterator[psutil.Process]:
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "spotilike.audio.tasks",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "1",
            "-Q",
            worker_settings.celery_queue,
            "--without-gossip",
            "--without-mingle",
            "-l",
            "INFO",
        ],
        env=env_for(worker_settings),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield psutil.Process(process.pid)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


async def job_row(database: ScratchDatabase, upload_id: str) -> dict[str, Any] | None:
    connection = await asyncpg.connect(database.primary_dsn)
    try:
        row = await connection.fetchrow(
            "SELECT * FROM jobs WHERE upload_id = $1", uuid.UUID(upload_id)
        )
    finally:
        await connection.close()
    return dict(row) if row else None


async def wait_for(check: Callable[[], Any], *, seconds: float) -> Any:
    for _ in range(int(seconds * 5)):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {seconds} s")


async def completions(database: ScratchDatabase, upload_id: str) -> int:
    connection = await asyncpg.connect(database.primary_dsn)
    try:
        rows = await connection.fetch("SELECT topic, payload FROM outbox")
    finally:
        await connection.close()
    return sum(
        1
        for row in rows
        if row["topic"].endswith("processing.completed")
        and json.loads(row["payload"])["upload_id"] == upload_id
    )


async def test_upload_to_ready_through_kafka_and_a_worker(
    worker_settings: AudioSettings,
    worker: psutil.Process,
    audio_database: ScratchDatabase,
    kafka_topics: ScratchTopics,
    token_issuer: TokenIssuer,
    tmp_path: Path,
) -> None:
    await kafka_topics.create(
        "upload.completed",
        "upload.completed.dlq",
        *[f"catalog.track.{change}" for change in ("created", "updated", "deleted")],
    )
    app = create_audio_app(
        worker_settings, topic_prefix=kafka_topics.prefix, token_verifier=token_issuer.verifier()
    )
    track_id, artist_id = await known_track(audio_database)
    async with serve(app, token_issuer) as audio:
        headers = audio.artist(artist_id)
        upload_id = await audio.upload(track_id, headers, make_ogg(tmp_path / "a.ogg").read_bytes())
        done = await audio.http.post(f"/uploads/{upload_id}/complete", headers=headers)
        assert done.status_code == 200

        async def finished() -> dict[str, Any] | None:
            status = await audio.http.get(f"/processing/status/{track_id}", headers=headers)
            body = status.json() if status.status_code == 200 else None
            return body if body and body["status"] in ("SUCCEEDED", "FAILED") else None

        final = await wait_for(finished, seconds=150)
    assert final["status"] == "SUCCEEDED", final
    assert await completions(audio_database, upload_id) == 1


async def test_a_worker_killed_mid_transcode_is_redelivered_and_finishes_once(
    worker_settings: AudioSettings,
    worker: psutil.Process,
    audio_database: ScratchDatabase,
    token_issuer: TokenIssuer,
    tmp_path: Path,
) -> None:
    app = create_audio_app(
        worker_settings, run_workers=False, token_verifier=token_issuer.verifier()
    )
    track_id, artist_id = await known_track(audio_database)
    async with serve(app, token_issuer) as audio:
        headers = audio.artist(artist_id)
        upload_id = await audio.upload(
            track_id, headers, make_ogg(tmp_path / "long.ogg", seconds=90).read_bytes()
        )
        assert (
            await audio.http.post(f"/uploads/{upload_id}/complete", headers=headers)
        ).status_code == 200
        connection = await asyncpg.connect(audio_database.primary_dsn)
        try:
            await connection.execute(
                "INSERT INTO jobs (upload_id, track_id, status, progress, stage_seconds, attempts)"
                " VALUES ($1, $2, 'QUEUED', 0, '{}', 0)",
                uuid.UUID(upload_id),
                uuid.UUID(track_id),
            )
        finally:
            await connection.close()
        celery_app(worker_settings).send_task(PROCESS_TASK, args=[upload_id])

        async def transcoding() -> bool:
            row = await job_row(audio_database, upload_id)
            return bool(row and row["status"] == "RUNNING" and row["stage"] == "transcode")

        await wait_for(transcoding, seconds=120)
        children = worker.children(recursive=False)
        assert children, "the prefork worker has no pool process"
        for child in children:
            child.kill()  # SIGKILL: no cleanup, no acknowledgement

        async def finished() -> dict[str, Any] | None:
            row = await job_row(audio_database, upload_id)
            return row if row and row["status"] in ("SUCCEEDED", "FAILED") else None

        final = await wait_for(finished, seconds=240)
    assert final["status"] == "SUCCEEDED", final
    assert final["attempts"] == 2
    assert await completions(audio_database, upload_id) == 1
