"""One processing run of one upload: what a Celery task does.

A run holds the upload's PostgreSQL advisory lock on a connection of its own for as long
as it works, so two deliveries of one task (a redelivery while the first still runs, or
a duplicate event) never process at once; the second sees the lock taken and leaves.
A job that already SUCCEEDED or FAILED is not run again. A worker killed mid-run drops
its connection and with it the lock, so the redelivered task takes over the RUNNING job.

Outputs are written under ``staging/<upload id>/`` and published to ``tracks/<track id>``
in one switch of the storage's CURRENT pointer (the kit's atomic publish), after which
``processing.completed`` carries the versioned, never-changing keys. A refused upload
publishes nothing and ends FAILED with the media layer's reason, which an artist can
read; an unexpected error is retried by the task and ends FAILED once retries run out.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import structlog

from spotilike.audio import media, repository
from spotilike.audio.models import JobStatus
from spotilike.audio.service.runtime import Runtime
from spotilike.contracts.events.media import ProcessingCompletedV1, ProcessingFailedV1, Rendition
from spotilike.kit.storage import published_key

__all__ = ["Outcome", "fail_job", "process_upload"]

_log = structlog.get_logger(__name__)
_PROGRESS_SECONDS = 1.0
# How far each stage takes the job's progress bar.
_STAGE_END = {"fetch": 5, "analyse": 20, "transcode": 85, "publish": 100}


@dataclass(frozen=True)
class Outcome:
    status: str
    """SUCCEEDED, FAILED, or SKIPPED (another run holds the lock, or it is already done)."""
    reason: str | None = None


class _Progress:
    """Progress from the FFmpeg thread, written to the job at most once a second."""

    def __init__(self, runtime: Runtime, upload_id: UUID) -> None:
        self._runtime = runtime
        self._upload_id = upload_id
        self.value = 0
        self.stage = "fetch"
        self._written = -1

    def stage_fraction(self, percent: float) -> None:
        start = {"fetch": 0, "analyse": 5, "transcode": 20, "publish": 85}[self.stage]
        end = _STAGE_END[self.stage]
        self.value = int(start + (end - start) * max(0.0, min(100.0, percent)) / 100)

    async def flush(self) -> None:
        if self.value == self._written:
            return
        self._written = self.value
        async with self._runtime.database.transaction() as session:
            job = await repository.job(session, self._upload_id, lock=True)
            if job is not None and job.status == JobStatus.RUNNING.value:
                job.progress = self.value
                job.stage = self.stage
                job.updated_at = datetime.now(UTC)

    async def keep_writing(self) -> None:
        while True:
            await asyncio.sleep(_PROGRESS_SECONDS)
            await self.flush()


async def _start(runtime: Runtime, upload_id: UUID) -> tuple[UUID, str] | None:
    """Marks the job RUNNING; None when there is nothing to do."""
    async with runtime.database.transaction() as session:
        job = await repository.job(session, upload_id, lock=True)
        upload = await repository.upload(session, upload_id)
        if job is None or upload is None:
            _log.warning("processing_without_job", upload_id=str(upload_id))
            return None
        if job.status in (JobStatus.SUCCEEDED.value, JobStatus.FAILED.value):
            return None
        job.status = JobStatus.RUNNING.value
        job.attempts += 1
        job.started_at = job.started_at or datetime.now(UTC)
        job.stage = "fetch"
        job.error = None
        job.updated_at = datetime.now(UTC)
        return job.track_id, upload.storage_key


async def fail_job(runtime: Runtime, upload_id: UUID, *, reason: str, stage: str) -> None:
    """Ends the job FAILED and tells the catalog why, in the artist's words."""
    async with runtime.database.transaction() as session:
        job = await repository.job(session, upload_id, lock=True)
        if job is None or job.status in (JobStatus.SUCCEEDED.value, JobStatus.FAILED.value):
            return
        job.status = JobStatus.FAILED.value
        job.error = reason[:500]
        job.error_stage = stage
        job.finished_at = datetime.now(UTC)
        job.updated_at = job.finished_at
        await runtime.outbox.add(
            session,
            ProcessingFailedV1(
                track_id=job.track_id, upload_id=upload_id, reason=reason, stage=stage
            ),
            key=str(job.track_id),
            subject=str(job.track_id),
        )
    _log.info("processing_failed", upload_id=str(upload_id), stage=stage, reason=reason)


async def _upload_outputs(runtime: Runtime, out_dir: Path, staging: str) -> None:
    files = await asyncio.to_thread(lambda: sorted(p for p in out_dir.rglob("*") if p.is_file()))
    for path in files:
        await runtime.storage.put_file(f"{staging}/{path.relative_to(out_dir).as_posix()}", path)


async def process_upload(runtime: Runtime, upload_id: UUID) -> Outcome:
    settings = runtime.settings
    async with runtime.database.primary.connect() as lock_connection:
        if not await repository.try_processing_lock(lock_connection, upload_id):
            _log.info("processing_already_running", upload_id=str(upload_id))
            return Outcome("SKIPPED")
        try:
            started = await _start(runtime, upload_id)
            if started is None:
                return Outcome("SKIPPED")
            track_id, original_key = started
            return await _run(runtime, upload_id, track_id, original_key)
        finally:
            await repository.release_processing_lock(lock_connection, upload_id)
            shutil.rmtree(settings.work_dir / str(upload_id), ignore_errors=True)


async def _run(  # noqa: PLR0915 - one straight line of stages reads better split in none
    runtime: Runtime, upload_id: UUID, track_id: UUID, original_key: str
) -> Outcome:
    settings = runtime.settings
    work = settings.work_dir / str(upload_id)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    out_dir = work / "out"
    source = work / "original.ogg"
    staging = f"staging/{upload_id}"
    final = f"tracks/{track_id}"
    progress = _Progress(runtime, upload_id)
    writer = asyncio.create_task(progress.keep_writing())
    timings: dict[str, float] = {}
    limits = media.Limits(
        max_bytes=settings.max_upload_bytes, max_seconds=settings.max_duration_seconds
    )
    run_limits = media.RunLimits(timeout_seconds=settings.ffmpeg_timeout_seconds)
    try:
        began = time.monotonic()
        await runtime.storage.download_to(original_key, source)
        timings["fetch"] = time.monotonic() - began

        progress.stage = "analyse"
        began = time.monotonic()
        analysis = await asyncio.to_thread(
            media.analyse, source, limits, run_limits=run_limits, progress=progress.stage_fraction
        )
        timings["analyse"] = time.monotonic() - began

        progress.stage = "transcode"
        began = time.monotonic()
        renditions = await asyncio.to_thread(
            media.transcode,
            source,
            out_dir,
            progress=progress.stage_fraction,
            run_limits=run_limits,
        )
        (out_dir / "peaks.json").write_text(json.dumps(analysis.waveform))
        timings["transcode"] = time.monotonic() - began

        progress.stage = "publish"
        began = time.monotonic()
        await runtime.storage.delete_prefix(staging)
        await _upload_outputs(runtime, out_dir, staging)
        await runtime.storage.publish_prefix(staging, final)
        version = await runtime.storage.current_version(final)
        timings["publish"] = time.monotonic() - began
    except media.MediaError as error:
        await runtime.storage.delete_prefix(staging)
        await fail_job(runtime, upload_id, reason=error.reason, stage=progress.stage)
        return Outcome("FAILED", error.reason)
    finally:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)

    def key(name: str) -> str:
        return published_key(final, version, name)

    async with runtime.database.transaction() as session:
        job = await repository.job(session, upload_id, lock=True)
        if job is None:
            return Outcome("SKIPPED")
        job.status = JobStatus.SUCCEEDED.value
        job.progress = 100
        job.stage = "done"
        job.stage_seconds = {name: round(seconds, 3) for name, seconds in timings.items()}
        job.output_prefix = f"{final}@{version}"
        job.finished_at = datetime.now(UTC)
        job.updated_at = job.finished_at
        await runtime.outbox.add(
            session,
            ProcessingCompletedV1(
                track_id=track_id,
                upload_id=upload_id,
                duration_ms=round(analysis.info.duration_seconds * 1000),
                master_playlist_key=key(renditions.master.relative_to(out_dir).as_posix()),
                renditions=tuple(
                    Rendition(
                        bitrate_kbps=variant.kbps,
                        playlist_key=key(variant.playlist.relative_to(out_dir).as_posix()),
                        bandwidth=variant.bandwidth,
                        average_bandwidth=variant.average_bandwidth,
                    )
                    for variant in renditions.variants
                ),
                download_key=key(renditions.download.relative_to(out_dir).as_posix()),
                peaks_key=key("peaks.json"),
                integrated_lufs=analysis.loudness.integrated_lufs,
                gain_db=analysis.loudness.gain_db,
            ),
            key=str(track_id),
            subject=str(track_id),
        )
    _log.info("processing_succeeded", upload_id=str(upload_id), seconds=timings)
    return Outcome("SUCCEEDED")
