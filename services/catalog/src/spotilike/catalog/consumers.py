"""Kafka consumers of the catalog: the audio pipeline's results, and erased users.

Group ``catalog-lifecycle`` moves tracks through their lifecycle on ``upload.completed``,
``processing.completed`` and ``processing.failed``; group ``catalog-users`` forgets the
manager of an artist whose user account was deleted.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.catalog.models import Artist, messaging
from spotilike.catalog.service.lifecycle import (
    apply_processing_completed,
    apply_processing_failed,
    apply_upload_completed,
)
from spotilike.catalog.service.runtime import Runtime
from spotilike.catalog.service.writing import Write
from spotilike.contracts.events.base import EventData
from spotilike.contracts.events.media import (
    ProcessingCompletedV1,
    ProcessingFailedV1,
    UploadCompletedV1,
)
from spotilike.contracts.events.users import UserDeletedV1
from spotilike.kit.events import CloudEvent, ConsumerRunner, Handler

__all__ = ["LIFECYCLE_GROUP", "USERS_GROUP", "lifecycle_consumer", "users_consumer"]

LIFECYCLE_GROUP = "catalog-lifecycle"
USERS_GROUP = "catalog-users"


def _handlers(runtime: Runtime) -> dict[str, Handler]:
    async def upload_completed(
        session: AsyncSession, _event: CloudEvent, payload: EventData
    ) -> None:
        assert isinstance(payload, UploadCompletedV1)
        await apply_upload_completed(runtime, Write(runtime, session), payload)

    async def completed(session: AsyncSession, _event: CloudEvent, payload: EventData) -> None:
        assert isinstance(payload, ProcessingCompletedV1)
        await apply_processing_completed(runtime, Write(runtime, session), payload)

    async def failed(session: AsyncSession, _event: CloudEvent, payload: EventData) -> None:
        assert isinstance(payload, ProcessingFailedV1)
        await apply_processing_failed(runtime, Write(runtime, session), payload)

    return {
        UploadCompletedV1.topic: upload_completed,
        ProcessingCompletedV1.topic: completed,
        ProcessingFailedV1.topic: failed,
    }


def lifecycle_consumer(runtime: Runtime, *, topic_prefix: str = "") -> ConsumerRunner:
    return ConsumerRunner(
        group=topic_prefix + LIFECYCLE_GROUP,
        bootstrap_servers=runtime.settings.kafka_bootstrap_servers,
        database=runtime.database,
        tables=messaging,
        handlers={topic_prefix + topic: handler for topic, handler in _handlers(runtime).items()},
    )


def users_consumer(runtime: Runtime, *, topic_prefix: str = "") -> ConsumerRunner:
    async def user_deleted(session: AsyncSession, _event: CloudEvent, payload: EventData) -> None:
        assert isinstance(payload, UserDeletedV1)
        await session.execute(
            update(Artist).where(Artist.user_id == payload.user_id).values(user_id=None)
        )

    return ConsumerRunner(
        group=topic_prefix + USERS_GROUP,
        bootstrap_servers=runtime.settings.kafka_bootstrap_servers,
        database=runtime.database,
        tables=messaging,
        handlers={topic_prefix + UserDeletedV1.topic: user_deleted},
    )
