"""Kafka consumers of the audio service.

Group ``audio-pipeline``: ``upload.completed`` → a QUEUED job in the same transaction as
the event's ``processed_events`` row, and the Celery task enqueued after the commit (a
lost enqueue is caught by the sweeper, which re-enqueues jobs queued too long).
Group ``audio-tracks``: the catalog's track events → the tracks uploads may target, by
revision, so a late older event changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.audio import repository
from spotilike.audio.models import messaging
from spotilike.contracts.events.base import EventData
from spotilike.contracts.events.catalog import TrackCreatedV1, TrackDeletedV1, TrackUpdatedV1
from spotilike.contracts.events.media import UploadCompletedV1
from spotilike.kit.db import Database, after_commit
from spotilike.kit.events import CloudEvent, ConsumerRunner

__all__ = ["PIPELINE_GROUP", "TRACKS_GROUP", "Enqueue", "pipeline_consumer", "tracks_consumer"]

PIPELINE_GROUP = "audio-pipeline"
TRACKS_GROUP = "audio-tracks"
Enqueue = Callable[[str], Awaitable[None]]


def pipeline_consumer(
    *, database: Database, bootstrap_servers: str, enqueue: Enqueue, topic_prefix: str = ""
) -> ConsumerRunner:
    async def upload_completed(
        session: AsyncSession, _event: CloudEvent, payload: EventData
    ) -> None:
        assert isinstance(payload, UploadCompletedV1)
        if await repository.queue_job(
            session, upload_id=payload.upload_id, track_id=payload.track_id
        ):
            upload_id = str(payload.upload_id)
            after_commit(session, lambda: enqueue(upload_id))

    return ConsumerRunner(
        group=topic_prefix + PIPELINE_GROUP,
        bootstrap_servers=bootstrap_servers,
        database=database,
        tables=messaging,
        handlers={topic_prefix + UploadCompletedV1.topic: upload_completed},
    )


def tracks_consumer(
    *, database: Database, bootstrap_servers: str, topic_prefix: str = ""
) -> ConsumerRunner:
    async def track_changed(session: AsyncSession, _event: CloudEvent, payload: EventData) -> None:
        assert isinstance(payload, TrackCreatedV1 | TrackUpdatedV1)
        await repository.upsert_known_track(
            session,
            track_id=payload.track_id,
            artist_id=payload.artist_id,
            status=payload.status,
            revision=payload.revision,
            deleted=False,
        )

    async def track_deleted(session: AsyncSession, _event: CloudEvent, payload: EventData) -> None:
        assert isinstance(payload, TrackDeletedV1)
        known = await repository.known_track(session, payload.track_id)
        if known is not None and known.revision < payload.revision:
            known.deleted = True
            known.revision = payload.revision

    return ConsumerRunner(
        group=topic_prefix + TRACKS_GROUP,
        bootstrap_servers=bootstrap_servers,
        database=database,
        tables=messaging,
        handlers={
            topic_prefix + TrackCreatedV1.topic: track_changed,
            topic_prefix + TrackUpdatedV1.topic: track_changed,
            topic_prefix + TrackDeletedV1.topic: track_deleted,
        },
    )
