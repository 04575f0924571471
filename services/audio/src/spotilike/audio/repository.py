"""Named queries of the audio service. They flush, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from spotilike.audio.models import Job, JobStatus, KnownTrack, Upload

__all__ = [
    "add",
    "job",
    "known_track",
    "latest_job_for_track",
    "queue_job",
    "release_processing_lock",
    "stale_queued_jobs",
    "try_processing_lock",
    "upload",
    "upsert_known_track",
]


async def add(session: AsyncSession, *rows: Any) -> None:
    session.add_all(rows)
    await session.flush()


async def known_track(session: AsyncSession, track_id: UUID) -> KnownTrack | None:
    return await session.get(KnownTrack, track_id)


async def upsert_known_track(
    session: AsyncSession,
    *,
    track_id: UUID,
    artist_id: UUID,
    status: str,
    revision: int,
    deleted: bool,
) -> None:
    """Keeps the newest revision only: an older event arriving late changes nothing."""
    statement = insert(KnownTrack).values(
        track_id=track_id, artist_id=artist_id, status=status, revision=revision, deleted=deleted
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[KnownTrack.track_id],
            set_={
                "artist_id": statement.excluded.artist_id,
                "status": statement.excluded.status,
                "revision": statement.excluded.revision,
                "deleted": statement.excluded.deleted,
            },
            where=KnownTrack.revision < statement.excluded.revision,
        )
    )


async def upload(session: AsyncSession, upload_id: UUID, *, lock: bool = False) -> Upload | None:
    return await session.get(Upload, upload_id, with_for_update=lock)


async def job(session: AsyncSession, upload_id: UUID, *, lock: bool = False) -> Job | None:
    return await session.get(Job, upload_id, with_for_update=lock)


async def queue_job(session: AsyncSession, *, upload_id: UUID, track_id: UUID) -> bool:
    """Creates the job if it is new; False when this upload already has one."""
    result = await session.execute(
        insert(Job)
        .values(
            upload_id=upload_id,
            track_id=track_id,
            status=JobStatus.QUEUED.value,
            progress=0,
            stage_seconds={},
            attempts=0,
        )
        .on_conflict_do_nothing()
        .returning(Job.upload_id)
    )
    return result.first() is not None


async def latest_job_for_track(session: AsyncSession, track_id: UUID) -> Job | None:
    return await session.scalar(
        select(Job).where(Job.track_id == track_id).order_by(Job.queued_at.desc()).limit(1)
    )


async def stale_queued_jobs(session: AsyncSession, *, before: datetime) -> Sequence[Job]:
    return (
        await session.scalars(
            select(Job).where(Job.status == JobStatus.QUEUED.value, Job.updated_at < before)
        )
    ).all()


def _lock_key(upload_id: UUID) -> Any:
    return func.hashtextextended("audio-processing:" + str(upload_id), 0)


async def try_processing_lock(connection: AsyncConnection, upload_id: UUID) -> bool:
    """Takes the upload's processing lock for the life of ``connection`` if it is free.

    A session-level advisory lock: it outlives transactions, and PostgreSQL drops it when
    the connection dies, which is what frees it when a worker is killed.
    """
    acquired = await connection.scalar(select(func.pg_try_advisory_lock(_lock_key(upload_id))))
    await connection.commit()
    return bool(acquired)


async def release_processing_lock(connection: AsyncConnection, upload_id: UUID) -> None:
    await connection.scalar(select(func.pg_advisory_unlock(_lock_key(upload_id))))
    await connection.commit()
