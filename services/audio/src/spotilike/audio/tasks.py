"""The Celery side of the audio service: ``celery -A spotilike.audio.tasks worker``.

Delivery is at least once and never lost: ``acks_late`` acknowledges a task only when it
returned, ``task_reject_on_worker_lost`` puts it back when its worker process dies, one
task is prefetched at a time, and the broker's visibility timeout is longer than the hard
time limit (the settings refuse anything else), so a running task is never handed to a
second worker while the first may still finish. Running twice is harmless anyway: the
processing lock and the job's state make a second run a no-op.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

import structlog
from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded

from spotilike.audio.service.cleanup import clean_up, stale_queued
from spotilike.audio.service.processing import fail_job, process_upload
from spotilike.audio.service.runtime import Runtime, build_runtime
from spotilike.audio.settings import AudioSettings
from spotilike.kit.db import Database
from spotilike.kit.logging import configure_logging

__all__ = ["CLEANUP_TASK", "PROCESS_TASK", "SWEEP_TASK", "app", "celery_app"]

_log = structlog.get_logger(__name__)
PROCESS_TASK = "spotilike.audio.process_upload"
CLEANUP_TASK = "spotilike.audio.clean_up"
SWEEP_TASK = "spotilike.audio.requeue_stale"
_T = TypeVar("_T")


def celery_app(settings: AudioSettings) -> Celery:
    app = Celery("spotilike-audio", broker=settings.celery_broker_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_concurrency=settings.worker_concurrency,
        task_soft_time_limit=settings.task_soft_time_limit_seconds,
        task_time_limit=settings.task_time_limit_seconds,
        broker_transport_options={"visibility_timeout": settings.visibility_timeout_seconds},
        broker_connection_retry_on_startup=True,
        task_default_queue=settings.celery_queue,
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        task_ignore_result=True,
        beat_schedule={
            "clean-up": {"task": CLEANUP_TASK, "schedule": 3600.0},
            "requeue-stale": {"task": SWEEP_TASK, "schedule": 60.0},
        },
    )
    return app


settings = AudioSettings()
app = celery_app(settings)


def _with_runtime(work: Callable[[Runtime], Awaitable[_T]]) -> _T:
    """Runs ``work`` in a fresh event loop with its own pools: Celery tasks are synchronous,
    and async engines belong to the loop that made them."""

    async def main() -> _T:
        database = Database(
            primary_url=settings.database_url,
            pool_size=2,
            application_name="spotilike-audio-worker",
        )
        runtime = build_runtime(settings, database=database)
        try:
            return await work(runtime)
        finally:
            await runtime.storage.aclose()
            await database.dispose()

    return asyncio.run(main())


@app.on_after_configure.connect  # type: ignore[untyped-decorator]
def _logging(**_kwargs: Any) -> None:
    configure_logging(service="audio-worker", level=settings.log_level, json=settings.log_json)


@app.task(name=PROCESS_TASK, bind=True, max_retries=settings.task_max_retries)  # type: ignore[untyped-decorator]
def process(self: Any, upload_id: str) -> str:
    upload = UUID(upload_id)
    try:
        outcome = _with_runtime(lambda runtime: process_upload(runtime, upload))
    except SoftTimeLimitExceeded:
        _with_runtime(
            lambda runtime: fail_job(
                runtime, upload, reason="Processing took too long and was stopped.", stage="timeout"
            )
        )
        return "FAILED"
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            _log.error("processing_gave_up", upload_id=upload_id, error=str(exc))
            _with_runtime(
                lambda runtime: fail_job(
                    runtime,
                    upload,
                    reason="Processing failed on our side; please upload the file again.",
                    stage="internal",
                )
            )
            return "FAILED"
        countdown = min(60, 5 * 2**self.request.retries)
        _log.warning("processing_retry", upload_id=upload_id, error=str(exc), in_seconds=countdown)
        raise self.retry(exc=exc, countdown=countdown) from exc
    return outcome.status


@app.task(name=CLEANUP_TASK)  # type: ignore[untyped-decorator]
def clean_up_task() -> dict[str, int]:
    report = _with_runtime(clean_up)
    return {
        "work_dirs": report.work_dirs,
        "staging_prefixes": report.staging_prefixes,
        "staging_objects": report.staging_objects,
        "old_versions": report.old_versions,
    }


@app.task(name=SWEEP_TASK)  # type: ignore[untyped-decorator]
def requeue_stale() -> int:
    uploads = _with_runtime(stale_queued)
    for upload_id in uploads:
        app.send_task(PROCESS_TASK, args=[upload_id])
    return len(uploads)
