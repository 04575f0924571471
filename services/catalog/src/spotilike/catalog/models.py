"""Tables of the catalog service.

Rows are soft-deleted (``deleted_at``) so an id once published never means something else;
the uniqueness rules (duplicate keys, ISRC, UPC, track positions) hold among live rows
only, through partial unique indexes.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ARRAY,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from spotilike.kit.db import service_metadata
from spotilike.kit.events import messaging_tables

__all__ = [
    "Album",
    "AlbumType",
    "Artist",
    "Base",
    "Genre",
    "Track",
    "TrackStatus",
    "album_genres",
    "messaging",
    "track_featured_artists",
    "track_genres",
]


class Base(DeclarativeBase):
    metadata = service_metadata()


messaging = messaging_tables(Base.metadata)

_LIVE = text("deleted_at IS NULL")


class TrackStatus(StrEnum):
    DRAFT = "DRAFT"
    AWAITING_UPLOAD = "AWAITING_UPLOAD"
    PROCESSING = "PROCESSING"
    READY = "READY"
    FAILED = "FAILED"


class AlbumType(StrEnum):
    ALBUM = "album"
    SINGLE = "single"
    EP = "ep"
    COMPILATION = "compilation"


def _created() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


album_genres = Table(
    "album_genres",
    Base.metadata,
    Column("album_id", ForeignKey("albums.id", ondelete="CASCADE"), primary_key=True),
    Column("genre_id", ForeignKey("genres.id", ondelete="CASCADE"), primary_key=True),
)

track_genres = Table(
    "track_genres",
    Base.metadata,
    Column("track_id", ForeignKey("tracks.id", ondelete="CASCADE"), primary_key=True),
    Column("genre_id", ForeignKey("genres.id", ondelete="CASCADE"), primary_key=True),
)

track_featured_artists = Table(
    "track_featured_artists",
    Base.metadata,
    Column("track_id", ForeignKey("tracks.id", ondelete="CASCADE"), primary_key=True),
    Column("artist_id", ForeignKey("artists.id", ondelete="CASCADE"), primary_key=True),
    Column("position", SmallInteger, nullable=False),
)


class Genre(Base):
    __tablename__ = "genres"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[UUID | None] = mapped_column(ForeignKey("genres.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = _created()


class Artist(Base):
    __tablename__ = "artists"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    search_key: Mapped[str] = mapped_column(String(400), index=True)
    bio: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(String(2048))
    country: Mapped[str | None] = mapped_column(String(2))
    user_id: Mapped[UUID | None] = mapped_column(index=True)
    """The user (role ARTIST) who manages this artist's albums and tracks."""
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Album(Base):
    __tablename__ = "albums"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    artist_id: Mapped[UUID] = mapped_column(ForeignKey("artists.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    search_key: Mapped[str] = mapped_column(String(400), index=True)
    duplicate_key: Mapped[str] = mapped_column(String(400))
    album_type: Mapped[str] = mapped_column(String(16), default=AlbumType.ALBUM.value)
    release_date: Mapped[date | None] = mapped_column(Date)
    upc: Mapped[str | None] = mapped_column(String(13))
    cover_url: Mapped[str | None] = mapped_column(String(2048))
    label: Mapped[str | None] = mapped_column(String(200))
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    genres: Mapped[list[Genre]] = relationship(secondary=album_genres, lazy="selectin")

    __table_args__ = (
        Index(
            "uq_albums_artist_duplicate_key",
            "artist_id",
            "duplicate_key",
            unique=True,
            postgresql_where=_LIVE,
        ),
        Index("uq_albums_upc", "upc", unique=True, postgresql_where=_LIVE),
    )


class Track(Base):
    __tablename__ = "tracks"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    album_id: Mapped[UUID] = mapped_column(ForeignKey("albums.id"), index=True)
    artist_id: Mapped[UUID] = mapped_column(ForeignKey("artists.id"), index=True)
    """The album's artist, kept on the track for the per-artist rules and listings."""
    title: Mapped[str] = mapped_column(String(200))
    search_key: Mapped[str] = mapped_column(String(400), index=True)
    duplicate_key: Mapped[str] = mapped_column(String(400))
    track_number: Mapped[int] = mapped_column(SmallInteger)
    disc_number: Mapped[int] = mapped_column(SmallInteger, default=1)
    isrc: Mapped[str | None] = mapped_column(String(12))
    explicit: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=TrackStatus.DRAFT.value)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    popularity: Mapped[int] = mapped_column(Integer, default=0)
    upload_id: Mapped[UUID | None]
    """The upload being or last processed; results for any other upload are stale."""
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    hls_manifest_key: Mapped[str | None] = mapped_column(String(512))
    download_key: Mapped[str | None] = mapped_column(String(512))
    peaks_key: Mapped[str | None] = mapped_column(String(512))
    renditions_kbps: Mapped[list[int]] = mapped_column(
        ARRAY(SmallInteger), server_default=text("'{}'::smallint[]")
    )
    loudness_lufs: Mapped[float | None] = mapped_column(Float)
    gain_db: Mapped[float | None] = mapped_column(Float)
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    genres: Mapped[list[Genre]] = relationship(secondary=track_genres, lazy="selectin")
    featured: Mapped[list[Artist]] = relationship(
        secondary=track_featured_artists,
        lazy="selectin",
        order_by=track_featured_artists.c.position,
    )

    __table_args__ = (
        Index(
            "uq_tracks_artist_duplicate_key",
            "artist_id",
            "duplicate_key",
            unique=True,
            postgresql_where=_LIVE,
        ),
        Index("uq_tracks_isrc", "isrc", unique=True, postgresql_where=_LIVE),
        Index(
            "uq_tracks_album_position",
            "album_id",
            "disc_number",
            "track_number",
            unique=True,
            postgresql_where=_LIVE,
        ),
    )
