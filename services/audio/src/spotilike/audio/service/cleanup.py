"""Housekeeping the Celery beat runs: stale work files, orphaned staging sets, old versions,
and jobs whose enqueue was lost."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from spotilike.audio import repository
from spotilike.audio.service.runtime import Runtime

__all__ = ["CleanupReport", "clean_up", "stale_queued"]

_log = structlog.get_logger(__name__)


@dataclass
class CleanupReport:
    work_dirs: int = 0
    staging_prefixes: int = 0
    staging_objects: int = 0
    old_versions: int = 0
    details: list[str] = field(default_factory=list)


async def clean_up(runtime: Runtime) -> CleanupReport:
    settings = runtime.settings
    report = CleanupReport()
    cutoff = time.time() - settings.cleanup_after_seconds
    if settings.work_dir.is_dir():
        for folder in settings.work_dir.iterdir():
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                report.work_dirs += 1
                report.details.append(f"work dir {folder.name}")
    oldest: dict[str, datetime] = {}
    async for info in runtime.storage.list("staging"):
        prefix = "/".join(info.key.split("/")[:2])
        seen = oldest.get(prefix)
        if seen is None or info.modified_at > seen:
            oldest[prefix] = info.modified_at
    threshold = datetime.now(UTC) - timedelta(seconds=settings.cleanup_after_seconds)
    for prefix, newest_write in oldest.items():
        if newest_write < threshold:
            report.staging_objects += await runtime.storage.delete_prefix(prefix)
            report.staging_prefixes += 1
            report.details.append(f"orphaned {prefix}")
    tracks: set[str] = set()
    async for info in runtime.storage.list("tracks"):
        tracks.add("/".join(info.key.split("/")[:2]))
    for prefix in sorted(tracks):
        report.old_versions += await runtime.storage.prune_versions(
            prefix, grace_seconds=settings.cleanup_after_seconds
        )
    _log.info(
        "cleanup_done",
        work_dirs=report.work_dirs,
        staging_prefixes=report.staging_prefixes,
        staging_objects=report.staging_objects,
        old_versions=report.old_versions,
    )
    return report


async def stale_queued(runtime: Runtime) -> list[str]:
    """Upload ids whose job waited too long for a worker: their enqueue may have been lost."""
    before = datetime.now(UTC) - timedelta(seconds=runtime.settings.stale_queued_seconds)
    async with runtime.database.transaction() as session:
        jobs = await repository.stale_queued_jobs(session, before=before)
        for job in jobs:
            job.updated_at = datetime.now(UTC)
        return [str(job.upload_id) for job in jobs]
