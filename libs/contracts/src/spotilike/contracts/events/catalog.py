"""Events of the catalog: artists, albums and tracks as the catalog service sees them.

Each carries the whole current state of the aggregate and its ``revision``, so a
consumer keeps a projection by upserting and ignores an event older than what it has.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import Field

from spotilike.contracts.events.base import EventData

__all__ = [
    "AlbumCreatedV1",
    "AlbumDeletedV1",
    "AlbumState",
    "AlbumUpdatedV1",
    "ArtistCreatedV1",
    "ArtistDeletedV1",
    "ArtistState",
    "ArtistUpdatedV1",
    "TrackCreatedV1",
    "TrackDeletedV1",
    "TrackState",
    "TrackUpdatedV1",
]


class ArtistState(EventData):
    artist_id: UUID
    revision: int = Field(ge=0)
    name: str
    owner_id: UUID | None = None
    genres: tuple[str, ...] = ()
    image_url: str | None = None
    country: str | None = None


class AlbumState(EventData):
    album_id: UUID
    revision: int = Field(ge=0)
    artist_id: UUID
    title: str
    release_date: date | None = None
    genres: tuple[str, ...] = ()
    published: bool = False
    artist_name: str | None = None
    album_type: str | None = None
    cover_url: str | None = None
    upc: str | None = None
    label: str | None = None


class TrackState(EventData):
    track_id: UUID
    revision: int = Field(ge=0)
    artist_id: UUID
    album_id: UUID | None = None
    title: str
    duration_ms: int | None = Field(default=None, ge=0)
    explicit: bool = False
    genres: tuple[str, ...] = ()
    published: bool = False
    status: str
    """DRAFT, AWAITING_UPLOAD, PROCESSING, READY or FAILED."""
    artist_name: str | None = None
    album_title: str | None = None
    cover_url: str | None = None
    track_number: int | None = None
    disc_number: int | None = None
    isrc: str | None = None
    featured_artist_ids: tuple[UUID, ...] = ()
    featured_artist_names: tuple[str, ...] = ()
    popularity: int = 0
    hls_manifest_key: str | None = None
    """Where the master playlist lives in storage, once READY: what streaming serves."""
    download_key: str | None = None
    peaks_key: str | None = None
    loudness_lufs: float | None = None
    gain_db: float | None = None


class ArtistCreatedV1(ArtistState):
    topic = "catalog.artist.created"


class ArtistUpdatedV1(ArtistState):
    topic = "catalog.artist.updated"


class ArtistDeletedV1(EventData):
    topic = "catalog.artist.deleted"
    artist_id: UUID
    revision: int = Field(ge=0)


class AlbumCreatedV1(AlbumState):
    topic = "catalog.album.created"


class AlbumUpdatedV1(AlbumState):
    topic = "catalog.album.updated"


class AlbumDeletedV1(EventData):
    topic = "catalog.album.deleted"
    album_id: UUID
    revision: int = Field(ge=0)


class TrackCreatedV1(TrackState):
    topic = "catalog.track.created"


class TrackUpdatedV1(TrackState):
    topic = "catalog.track.updated"


class TrackDeletedV1(EventData):
    topic = "catalog.track.deleted"
    track_id: UUID
    revision: int = Field(ge=0)
