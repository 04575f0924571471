"""The catalog's input rules as API errors: 422s that point at the field, 409s that name
the row a duplicate collides with."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.catalog import repository, text
from spotilike.catalog.models import Album, Artist, Genre, Track
from spotilike.kit.errors import Conflict, UnprocessableContent, invalid_field

__all__ = [
    "EARLIEST_RELEASE",
    "checked_isrc",
    "checked_name",
    "checked_release_date",
    "checked_upc",
    "duplicate",
    "existing_artists",
    "existing_genres",
]

EARLIEST_RELEASE = date(1877, 1, 1)
"""The phonograph's year: nothing recorded is older."""
LATEST_RELEASE_AHEAD = timedelta(days=2 * 366)
"""Releases are announced ahead, but not by more than two years."""


def _rejected(error: text.TextRejected, prefix: str = "") -> UnprocessableContent:
    return invalid_field(f"{prefix}/{error.field}", error.message)


def checked_name(value: str, *, field: str) -> str:
    try:
        return text.clean_name(value, field=field)
    except text.TextRejected as error:
        raise _rejected(error) from None


def checked_isrc(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return text.valid_isrc(value)
    except text.TextRejected as error:
        raise _rejected(error) from None


def checked_upc(value: str | None) -> str | None:
    """Stored as 13 digits: a UPC-A is an EAN-13 with a leading 0, and one barcode must
    not be two rows."""
    if value is None:
        return None
    try:
        return text.valid_upc(value).zfill(13)
    except text.TextRejected as error:
        raise _rejected(error) from None


def checked_release_date(value: date | None) -> date | None:
    if value is None:
        return None
    latest = datetime.now(UTC).date() + LATEST_RELEASE_AHEAD
    if not EARLIEST_RELEASE <= value <= latest:
        raise invalid_field(
            "/release_date", f"must be between {EARLIEST_RELEASE} and {latest.isoformat()}"
        )
    return value


async def existing_genres(
    session: AsyncSession, genre_ids: Sequence[UUID], *, field: str = "genre_ids"
) -> list[UUID]:
    unique = list(dict.fromkeys(genre_ids))
    found = {genre.id for genre in await repository.genres_by_ids(session, unique)}
    for index, genre_id in enumerate(unique):
        if genre_id not in found:
            raise invalid_field(f"/{field}/{index}", f"no genre {genre_id}")
    return unique


async def existing_artists(
    session: AsyncSession, artist_ids: Sequence[UUID], *, field: str, primary: UUID
) -> list[UUID]:
    unique = list(dict.fromkeys(artist_ids))
    found = {artist.id for artist in await repository.artists_by_ids(session, unique)}
    for index, artist_id in enumerate(unique):
        if artist_id not in found:
            raise invalid_field(f"/{field}/{index}", f"no artist {artist_id}")
        if artist_id == primary:
            raise invalid_field(f"/{field}/{index}", "the album's artist cannot also feature")
    return unique


def duplicate(existing: Album | Track | Artist | Genre, reason: str) -> Conflict:
    kind = type(existing).__name__.lower()
    label = getattr(existing, "title", None) or getattr(existing, "name", "")
    return Conflict(
        f"{reason}: {kind} {existing.id} ({label!r}) already exists",
        code=f"catalog/duplicate-{kind}",
        extensions={"existing": {"kind": kind, "id": str(existing.id), "title": label}},
    )
