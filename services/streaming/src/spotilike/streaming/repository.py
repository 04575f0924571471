"""Named queries of the streaming service. They flush, never commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Table, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.streaming.models import Listener, PlayableTrack, PlaySession

__all__ = [
    "counted_plays_since",
    "erase_play_sessions",
    "idle_play_sessions",
    "listener",
    "lock_user_track",
    "play_session",
    "playable_track",
    "upsert_listener",
    "upsert_listener_roles",
    "upsert_track",
]

_TRACKS = cast(Table, PlayableTrack.__table__)
_LISTENERS = cast(Table, Listener.__table__)


async def playable_track(session: AsyncSession, track_id: UUID) -> PlayableTrack | None:
    return await session.get(PlayableTrack, track_id)


async def listener(session: AsyncSession, user_id: UUID) -> Listener | None:
    return await session.get(Listener, user_id)


async def upsert_track(session: AsyncSession, *, track_id: UUID, **values: Any) -> bool:
    """Stores the track's state if ``values['revision']`` is newer than the stored one."""
    return await _upsert_newer(session, _TRACKS, key={"track_id": track_id}, values=values)


async def upsert_listener(session: AsyncSession, *, user_id: UUID, **values: Any) -> bool:
    """Stores the profile part if ``values['revision']`` is newer than the stored one."""
    return await _upsert_newer(
        session,
        _LISTENERS,
        key={"user_id": user_id},
        values=values,
        insert_defaults={"roles_revision": -1, "admin": False},
    )


async def upsert_listener_roles(
    session: AsyncSession,
    *,
    user_id: UUID,
    roles_revision: int,
    artist_id: UUID | None,
    admin: bool,
) -> bool:
    """Stores the roles part if ``roles_revision`` is newer; a user first seen through a
    role change gets the default profile, which any profile event then replaces."""
    return await _upsert_newer(
        session,
        _LISTENERS,
        key={"user_id": user_id},
        values={"roles_revision": roles_revision, "artist_id": artist_id, "admin": admin},
        revision_column="roles_revision",
        insert_defaults={
            "revision": -1,
            "streaming_quality_kbps": 320,
            "explicit_content_allowed": True,
            "private_session": False,
            "disabled": False,
        },
    )


async def _upsert_newer(
    session: AsyncSession,
    table: Table,
    *,
    key: dict[str, UUID],
    values: dict[str, Any],
    revision_column: str = "revision",
    insert_defaults: dict[str, Any] | None = None,
) -> bool:
    # One statement, so two consumers racing on the same row cannot both win: the
    # WHERE keeps whichever revision is higher.
    statement = insert(table).values(**key, **(insert_defaults or {}), **values)
    upsert = statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: statement.excluded[name] for name in values},
        where=table.c[revision_column] < statement.excluded[revision_column],
    ).returning(*(table.c[name] for name in key))
    result = await session.execute(upsert)
    return result.first() is not None


async def play_session(
    session: AsyncSession, session_id: UUID, *, for_update: bool = False
) -> PlaySession | None:
    statement = select(PlaySession).where(PlaySession.session_id == session_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def idle_play_sessions(
    session: AsyncSession, *, silent_since: datetime, limit: int
) -> list[PlaySession]:
    """Open sessions whose last report is older than ``silent_since``, oldest first, locked.

    ``SKIP LOCKED``: sessions another sweep (or a report being recorded) holds are left to
    it, so instances sweep side by side without waiting on each other.
    """
    statement = (
        select(PlaySession)
        .where(PlaySession.ended_at.is_(None), PlaySession.last_event_at < silent_since)
        .order_by(PlaySession.last_event_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(statement)).scalars())


async def lock_user_track(session: AsyncSession, *, user_id: UUID, track_id: UUID) -> None:
    """A transaction-scoped advisory lock on one (user, track) pair."""
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(f"{user_id}:{track_id}", 0)))
    )


async def erase_play_sessions(session: AsyncSession, *, user_id: UUID) -> None:
    await session.execute(delete(PlaySession).where(PlaySession.user_id == user_id))


async def counted_plays_since(
    session: AsyncSession, *, user_id: UUID, track_id: UUID, since: datetime
) -> int:
    statement = select(func.count()).where(
        PlaySession.user_id == user_id,
        PlaySession.track_id == track_id,
        PlaySession.counted.is_(True),
        PlaySession.ended_at >= since,
    )
    return int((await session.execute(statement)).scalar_one())
