"""Kafka consumers that keep the rights projections current.

Group ``streaming-tracks``: the catalog's track events → ``playable_tracks``. The catalog
is the one source of a track's status, effective publication and media keys (it consumes
``processing.*`` itself and republishes the keys on the track), so we do not read
``processing.*`` as a second source of the same facts.
Group ``streaming-users``: ``user.updated`` / ``user.role_changed`` / ``user.deleted`` →
``listeners``. Both ordered by revision: a late, older event changes nothing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.contracts.events.base import EventData
from spotilike.contracts.events.catalog import TrackCreatedV1, TrackDeletedV1, TrackUpdatedV1
from spotilike.contracts.events.users import UserDeletedV1, UserRoleChangedV1, UserUpdatedV1
from spotilike.kit.db import Database
from spotilike.kit.events import CloudEvent, ConsumerRunner
from spotilike.streaming import repository
from spotilike.streaming.models import messaging

__all__ = ["TRACKS_GROUP", "USERS_GROUP", "tracks_consumer", "users_consumer"]

TRACKS_GROUP = "streaming-tracks"
USERS_GROUP = "streaming-users"


async def _track_changed(session: AsyncSession, _event: CloudEvent, payload: EventData) -> None:
    assert isinstance(payload, TrackCreatedV1 | TrackUpdatedV1)
    await repository.upsert_track(
        session,
        track_id=payload.track_id,
        artist_id=payload.artist_id,
        revision=payload.revision,
        status=payload.status,
        published=payload.published,
        explicit=payload.explicit,
        deleted=False,
        duration_ms=payload.duration_ms,
        hls_manifest_key=payload.hls_manifest_key,
        download_key=payload.download_key,
    )


async def _track_deleted(session: AsyncSession, _event: CloudEvent, payload: EventData) -> None:
    assert isinstance(payload, TrackDeletedV1)
    track = await repository.playable_track(session, payload.track_id)
    if track is not None and track.revision < payload.revision:
        track.deleted = True
        track.revision = payload.revision


async def _user_updated(session: AsyncSession, _event: CloudEvent, payload: EventData) -> None:
    assert isinstance(payload, UserUpdatedV1)
    await repository.upsert_listener(
        session,
        user_id=payload.user_id,
        revision=payload.revision,
        streaming_quality_kbps=payload.streaming_quality_kbps,
        explicit_content_allowed=payload.explicit_content_allowed,
        private_session=payload.private_session,
        disabled=payload.disabled,
        deleted=False,
    )


async def _roles_changed(session: AsyncSession, _event: CloudEvent, payload: EventData) -> None:
    assert isinstance(payload, UserRoleChangedV1)
    await repository.upsert_listener_roles(
        session,
        user_id=payload.user_id,
        roles_revision=payload.revision,
        artist_id=payload.artist_id,
        admin="ADMIN" in payload.roles,
    )


async def _user_deleted(session: AsyncSession, _event: CloudEvent, payload: EventData) -> None:
    assert isinstance(payload, UserDeletedV1)
    # Erasure: the user's play sessions go. A tombstone row stays (only the id), so a
    # token issued before the deletion stops working; a deletion is final whatever
    # revision arrives after it, so no later profile event may clear the flag.
    await repository.erase_play_sessions(session, user_id=payload.user_id)
    listener = await repository.listener(session, payload.user_id)
    if listener is None:
        await repository.upsert_listener(
            session,
            user_id=payload.user_id,
            revision=2**31 - 1,
            streaming_quality_kbps=96,
            explicit_content_allowed=False,
            private_session=False,
            disabled=True,
            deleted=True,
        )
    else:
        listener.deleted = True
        listener.disabled = True
        listener.revision = 2**31 - 1


def tracks_consumer(
    *, database: Database, bootstrap_servers: str, topic_prefix: str = ""
) -> ConsumerRunner:
    return ConsumerRunner(
        group=topic_prefix + TRACKS_GROUP,
        bootstrap_servers=bootstrap_servers,
        database=database,
        tables=messaging,
        handlers={
            topic_prefix + TrackCreatedV1.topic: _track_changed,
            topic_prefix + TrackUpdatedV1.topic: _track_changed,
            topic_prefix + TrackDeletedV1.topic: _track_deleted,
        },
    )


def users_consumer(
    *, database: Database, bootstrap_servers: str, topic_prefix: str = ""
) -> ConsumerRunner:
    return ConsumerRunner(
        group=topic_prefix + USERS_GROUP,
        bootstrap_servers=bootstrap_servers,
        database=database,
        tables=messaging,
        handlers={
            topic_prefix + UserUpdatedV1.topic: _user_updated,
            topic_prefix + UserRoleChangedV1.topic: _roles_changed,
            topic_prefix + UserDeletedV1.topic: _user_deleted,
        },
    )
