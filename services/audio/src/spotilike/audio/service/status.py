"""Processing status, for the track's artist and admins."""

from __future__ import annotations

from uuid import UUID

from spotilike.audio import repository
from spotilike.audio.schemas import JobView
from spotilike.audio.service.access import require_manager
from spotilike.audio.service.runtime import Runtime
from spotilike.kit.auth import Principal
from spotilike.kit.errors import NotFound

__all__ = ["latest"]


async def latest(runtime: Runtime, *, principal: Principal, track_id: UUID) -> JobView:
    async with runtime.database.transaction() as session:
        track = await repository.known_track(session, track_id)
        if track is None:
            raise NotFound(f"no track {track_id}", code="audio/track-not-found")
        require_manager(principal, track)
        job = await repository.latest_job_for_track(session, track_id)
        if job is None:
            raise NotFound(f"track {track_id} has not been processed", code="audio/no-job")
        return JobView(
            track_id=job.track_id,
            upload_id=job.upload_id,
            status=job.status,
            stage=job.stage,
            progress=job.progress,
            stage_seconds=dict(job.stage_seconds or {}),
            error=job.error,
            error_stage=job.error_stage,
            attempts=job.attempts,
            queued_at=job.queued_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )
