"""The catalog's API models, separate from its tables.

Request models forbid unknown fields. Duration, renditions, loudness, status and
popularity are not fields of any request: only processing results (events) set them, so a
client sending them gets a 422 naming the field.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Generic, TypeVar
from uuid import UUID

from pydantic import AfterValidator, AnyHttpUrl, BaseModel, ConfigDict, Field, TypeAdapter

from spotilike.catalog.models import AlbumType

__all__ = [
    "AlbumCreate",
    "AlbumPage",
    "AlbumUpdate",
    "AlbumView",
    "ArtistCreate",
    "ArtistPage",
    "ArtistRef",
    "ArtistUpdate",
    "ArtistView",
    "GenreCreate",
    "GenreUpdate",
    "GenreView",
    "Page",
    "SearchResults",
    "TrackCreate",
    "TrackUpdate",
    "TrackView",
]

T = TypeVar("T")
Name = Annotated[str, Field(min_length=1, max_length=400)]
"""Bounded loosely here; the catalog's text rules (1 to 200 after cleaning) say why not."""
_HTTP_URL = TypeAdapter(AnyHttpUrl)


def _http_url(value: str) -> str:
    # Checked as a URL but kept as sent: normalising could push it past the stated length.
    _HTTP_URL.validate_python(value)
    return value


Url = Annotated[
    str, Field(max_length=2048, json_schema_extra={"format": "uri"}), AfterValidator(_http_url)
]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
GenreIds = Annotated[list[UUID], Field(max_length=10)]
TrackNumber = Annotated[int, Field(ge=1, le=999)]
DiscNumber = Annotated[int, Field(ge=1, le=99)]
Code = Annotated[str, Field(min_length=1, max_length=32)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenreCreate(_Request):
    name: Name
    slug: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    parent_id: UUID | None = None


class GenreUpdate(_Request):
    name: Name | None = None
    parent_id: UUID | None = None


class ArtistCreate(_Request):
    name: Name
    bio: Annotated[str, Field(max_length=5000, pattern=r"^[^\x00]*$")] | None = None
    image_url: Url | None = None
    country: Country | None = None
    user_id: UUID | None = None
    """The ARTIST user who manages it; only an admin sets this."""


class ArtistUpdate(_Request):
    name: Name | None = None
    bio: Annotated[str, Field(max_length=5000, pattern=r"^[^\x00]*$")] | None = None
    image_url: Url | None = None
    country: Country | None = None
    user_id: UUID | None = None


class AlbumCreate(_Request):
    artist_id: UUID
    title: Name
    album_type: AlbumType = AlbumType.ALBUM
    release_date: date | None = None
    upc: Code | None = None
    cover_url: Url | None = None
    label: Name | None = None
    genre_ids: GenreIds = []


class AlbumUpdate(_Request):
    title: Name | None = None
    album_type: AlbumType | None = None
    release_date: date | None = None
    upc: Code | None = None
    cover_url: Url | None = None
    label: Name | None = None
    genre_ids: GenreIds | None = None


class TrackCreate(_Request):
    album_id: UUID
    title: Name
    track_number: TrackNumber
    disc_number: DiscNumber = 1
    isrc: Code | None = None
    explicit: bool = False
    featured_artist_ids: Annotated[list[UUID], Field(max_length=20)] = []
    genre_ids: GenreIds = []


class TrackUpdate(_Request):
    title: Name | None = None
    track_number: TrackNumber | None = None
    disc_number: DiscNumber | None = None
    isrc: Code | None = None
    explicit: bool | None = None
    featured_artist_ids: Annotated[list[UUID], Field(max_length=20)] | None = None
    genre_ids: GenreIds | None = None


class GenreView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    slug: str
    name: str
    parent_id: UUID | None


class ArtistRef(BaseModel):
    id: UUID
    name: str


class ArtistView(BaseModel):
    id: UUID
    name: str
    bio: str | None
    image_url: str | None
    country: str | None
    created_at: datetime


class AlbumView(BaseModel):
    id: UUID
    artist: ArtistRef
    title: str
    album_type: str
    release_date: date | None
    upc: str | None
    cover_url: str | None
    label: str | None
    genres: list[str]
    published: bool
    created_at: datetime


class TrackView(BaseModel):
    id: UUID
    album_id: UUID
    album_title: str
    artist: ArtistRef
    featured_artists: list[ArtistRef]
    title: str
    track_number: int
    disc_number: int
    isrc: str | None
    explicit: bool
    genres: list[str]
    status: str
    published: bool
    duration_ms: int | None
    renditions_kbps: list[int]
    loudness_lufs: float | None
    gain_db: float | None
    failure_reason: str | None
    """Why processing failed, in words an artist can act on; shown to its editors only."""
    created_at: datetime


class AlbumPage(BaseModel):
    album: AlbumView
    tracks: list[TrackView]


class ArtistPage(BaseModel):
    artist: ArtistView
    albums: list[AlbumView]
    top_tracks: list[TrackView]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class SearchResults(BaseModel):
    query: str
    artists: list[ArtistView]
    albums: list[AlbumView]
    tracks: list[TrackView]
