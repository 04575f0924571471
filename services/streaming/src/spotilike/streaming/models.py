"""Tables of the streaming service: what it needs to decide rights, and play sessions.

``playable_tracks`` and ``listeners`` are projections of the catalog's and the users
service's events, each row carrying the revision it was built from so a late, older event
changes nothing. The play path reads only these, never the catalog.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import DateTime, Index, Integer, SmallInteger, String, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from spotilike.kit.db import service_metadata
from spotilike.kit.events import messaging_tables

__all__ = ["Base", "Listener", "PlaySession", "PlayableTrack", "messaging"]


class Base(DeclarativeBase):
    metadata = service_metadata()


messaging = messaging_tables(Base.metadata)


def _timestamp() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class PlayableTrack(Base):
    __tablename__ = "playable_tracks"

    track_id: Mapped[UUID] = mapped_column(primary_key=True)
    artist_id: Mapped[UUID]
    revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    published: Mapped[bool]
    """Effective: the track and its album are both published."""
    explicit: Mapped[bool]
    deleted: Mapped[bool] = mapped_column(default=False)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    hls_manifest_key: Mapped[str | None] = mapped_column(String(512))
    download_key: Mapped[str | None] = mapped_column(String(512))
    updated_at: Mapped[datetime] = _timestamp()


class Listener(Base):
    """A user's status and preferences as far as playback cares."""

    __tablename__ = "listeners"

    user_id: Mapped[UUID] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    streaming_quality_kbps: Mapped[int] = mapped_column(SmallInteger)
    explicit_content_allowed: Mapped[bool]
    private_session: Mapped[bool]
    disabled: Mapped[bool]
    deleted: Mapped[bool] = mapped_column(default=False)
    roles_revision: Mapped[int] = mapped_column(Integer, default=-1)
    """Roles come in their own events, ordered by the same user revision as the profile,
    so each part keeps the revision it was last set from."""
    artist_id: Mapped[UUID | None]
    """The artist profile this user manages: they may play its unpublished tracks."""
    admin: Mapped[bool] = mapped_column(default=False)


class PlaySession(Base):
    """One play of one track by one user, as the client reports it."""

    __tablename__ = "play_sessions"
    __table_args__ = (
        Index("ix_play_sessions_user_track", "user_id", "track_id"),
        # The sweep's question: which open sessions have been silent too long.
        Index(
            "ix_play_sessions_open_last_event",
            "last_event_at",
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    session_id: Mapped[UUID] = mapped_column(primary_key=True)
    user_id: Mapped[UUID]
    track_id: Mapped[UUID]
    quality_kbps: Mapped[int] = mapped_column(SmallInteger)
    track_duration_ms: Mapped[int] = mapped_column(Integer)
    listened_ms: Mapped[int] = mapped_column(Integer, default=0)
    last_position_ms: Mapped[int] = mapped_column(Integer, default=0)
    events: Mapped[int] = mapped_column(Integer, default=1)
    counted: Mapped[bool] = mapped_column(default=False)
    flagged: Mapped[bool] = mapped_column(default=False)
    private_session: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_event_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
