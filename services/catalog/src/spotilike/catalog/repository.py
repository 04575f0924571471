"""Named queries of the catalog. They flush, never commit: the caller's transaction decides.

Every query reads live rows only (``deleted_at IS NULL``); ``public`` narrows to what
anyone may see: published albums and their published, playable tracks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, delete, extract, func, insert, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from spotilike.catalog.models import (
    Album,
    Artist,
    Genre,
    Track,
    TrackStatus,
    album_genres,
    track_featured_artists,
    track_genres,
)

__all__ = [
    "EARLIEST_DATE",
    "Sort",
    "add",
    "album",
    "album_by_duplicate_key",
    "album_by_upc",
    "albums",
    "albums_by_ids",
    "albums_of_artist",
    "artist",
    "artists",
    "artists_by_ids",
    "artists_named",
    "genre",
    "genre_by_slug",
    "genres",
    "genres_by_ids",
    "search",
    "set_album_genres",
    "set_track_featured",
    "set_track_genres",
    "top_tracks",
    "track",
    "track_at_position",
    "track_by_duplicate_key",
    "track_by_isrc",
    "tracks",
    "tracks_of_album",
]

EARLIEST_DATE = date(1, 1, 1)
"""Albums without a release date sort as if released at the dawn of time."""


@dataclass(frozen=True)
class Sort:
    """A keyset order: one column (or expression) then the id, both in one direction."""

    key: ColumnElement[Any] | InstrumentedAttribute[Any]
    descending: bool


async def add(session: AsyncSession, *rows: Any) -> None:
    session.add_all(rows)
    await session.flush()


async def genre(session: AsyncSession, genre_id: UUID) -> Genre | None:
    return await session.get(Genre, genre_id)


async def genre_by_slug(session: AsyncSession, slug: str) -> Genre | None:
    return await session.scalar(select(Genre).where(Genre.slug == slug))


async def genres(session: AsyncSession) -> Sequence[Genre]:
    return (await session.scalars(select(Genre).order_by(Genre.name, Genre.id))).all()


async def genres_by_ids(session: AsyncSession, ids: Sequence[UUID]) -> Sequence[Genre]:
    if not ids:
        return []
    return (await session.scalars(select(Genre).where(Genre.id.in_(ids)))).all()


async def artist(session: AsyncSession, artist_id: UUID, *, lock: bool = False) -> Artist | None:
    statement = select(Artist).where(Artist.id == artist_id, Artist.deleted_at.is_(None))
    if lock:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def artists_by_ids(session: AsyncSession, ids: Sequence[UUID]) -> Sequence[Artist]:
    if not ids:
        return []
    return (
        await session.scalars(select(Artist).where(Artist.id.in_(ids), Artist.deleted_at.is_(None)))
    ).all()


async def albums_by_ids(session: AsyncSession, ids: Sequence[UUID]) -> Sequence[Album]:
    if not ids:
        return []
    return (
        await session.scalars(select(Album).where(Album.id.in_(ids), Album.deleted_at.is_(None)))
    ).all()


async def artists_named(session: AsyncSession, key: str, *, limit: int) -> Sequence[Artist]:
    """Live artists whose name has this search key, oldest first."""
    return (
        await session.scalars(
            select(Artist)
            .where(Artist.search_key == key, Artist.deleted_at.is_(None))
            .order_by(Artist.id)
            .limit(limit)
        )
    ).all()


async def album(session: AsyncSession, album_id: UUID, *, lock: bool = False) -> Album | None:
    statement = select(Album).where(Album.id == album_id, Album.deleted_at.is_(None))
    if lock:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def track(session: AsyncSession, track_id: UUID, *, lock: bool = False) -> Track | None:
    statement = select(Track).where(Track.id == track_id, Track.deleted_at.is_(None))
    if lock:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def album_by_duplicate_key(
    session: AsyncSession, *, artist_id: UUID, duplicate_key: str
) -> Album | None:
    return await session.scalar(
        select(Album).where(
            Album.artist_id == artist_id,
            Album.duplicate_key == duplicate_key,
            Album.deleted_at.is_(None),
        )
    )


async def album_by_upc(session: AsyncSession, upc: str) -> Album | None:
    return await session.scalar(select(Album).where(Album.upc == upc, Album.deleted_at.is_(None)))


async def track_by_duplicate_key(
    session: AsyncSession, *, artist_id: UUID, duplicate_key: str
) -> Track | None:
    return await session.scalar(
        select(Track).where(
            Track.artist_id == artist_id,
            Track.duplicate_key == duplicate_key,
            Track.deleted_at.is_(None),
        )
    )


async def track_by_isrc(session: AsyncSession, isrc: str) -> Track | None:
    return await session.scalar(select(Track).where(Track.isrc == isrc, Track.deleted_at.is_(None)))


async def track_at_position(
    session: AsyncSession, *, album_id: UUID, disc_number: int, track_number: int
) -> Track | None:
    return await session.scalar(
        select(Track).where(
            Track.album_id == album_id,
            Track.disc_number == disc_number,
            Track.track_number == track_number,
            Track.deleted_at.is_(None),
        )
    )


def _public_track() -> ColumnElement[bool]:
    return and_(Track.published.is_(True), Track.status == TrackStatus.READY.value)


async def tracks_of_album(
    session: AsyncSession, album_id: UUID, *, public: bool
) -> Sequence[Track]:
    statement = (
        select(Track)
        .where(Track.album_id == album_id, Track.deleted_at.is_(None))
        .order_by(Track.disc_number, Track.track_number)
    )
    if public:
        statement = statement.where(_public_track())
    return (await session.scalars(statement)).all()


async def albums_of_artist(
    session: AsyncSession, artist_id: UUID, *, public: bool, limit: int
) -> Sequence[Album]:
    statement = (
        select(Album)
        .where(Album.artist_id == artist_id, Album.deleted_at.is_(None))
        .order_by(func.coalesce(Album.release_date, EARLIEST_DATE).desc(), Album.id.desc())
        .limit(limit)
    )
    if public:
        statement = statement.where(Album.published.is_(True))
    return (await session.scalars(statement)).all()


async def top_tracks(session: AsyncSession, artist_id: UUID, *, limit: int) -> Sequence[Track]:
    return (
        await session.scalars(
            select(Track)
            .join(Album, Album.id == Track.album_id)
            .where(
                Track.artist_id == artist_id,
                Track.deleted_at.is_(None),
                Album.published.is_(True),
                _public_track(),
            )
            .order_by(Track.popularity.desc(), Track.created_at, Track.id)
            .limit(limit)
        )
    ).all()


def _after(sort: Sort, id_column: Any, cursor: Sequence[Any] | None) -> ColumnElement[bool] | None:
    if cursor is None:
        return None
    position = tuple_(sort.key, id_column)
    return position < tuple_(*cursor) if sort.descending else position > tuple_(*cursor)


def _ordered(sort: Sort, id_column: Any) -> list[Any]:
    if sort.descending:
        return [sort.key.desc(), id_column.desc()]
    return [sort.key, id_column]


async def artists(
    session: AsyncSession, *, sort: Sort, cursor: Sequence[Any] | None, limit: int
) -> Sequence[Artist]:
    statement = select(Artist).where(Artist.deleted_at.is_(None))
    after = _after(sort, Artist.id, cursor)
    if after is not None:
        statement = statement.where(after)
    return (
        await session.scalars(statement.order_by(*_ordered(sort, Artist.id)).limit(limit))
    ).all()


async def albums(
    session: AsyncSession,
    *,
    sort: Sort,
    cursor: Sequence[Any] | None,
    limit: int,
    artist_id: UUID | None,
    genre_id: UUID | None,
    year: int | None,
    public: bool,
) -> Sequence[Album]:
    statement = select(Album).where(Album.deleted_at.is_(None))
    if public:
        statement = statement.where(Album.published.is_(True))
    if artist_id is not None:
        statement = statement.where(Album.artist_id == artist_id)
    if genre_id is not None:
        statement = statement.where(
            Album.id.in_(select(album_genres.c.album_id).where(album_genres.c.genre_id == genre_id))
        )
    if year is not None:
        statement = statement.where(extract("year", Album.release_date) == year)
    after = _after(sort, Album.id, cursor)
    if after is not None:
        statement = statement.where(after)
    return (await session.scalars(statement.order_by(*_ordered(sort, Album.id)).limit(limit))).all()


async def tracks(
    session: AsyncSession,
    *,
    sort: Sort,
    cursor: Sequence[Any] | None,
    limit: int,
    artist_id: UUID | None,
    album_id: UUID | None,
    genre_id: UUID | None,
    year: int | None,
    public: bool,
) -> Sequence[Track]:
    statement = (
        select(Track).join(Album, Album.id == Track.album_id).where(Track.deleted_at.is_(None))
    )
    if public:
        statement = statement.where(Album.published.is_(True), _public_track())
    if artist_id is not None:
        statement = statement.where(
            or_(
                Track.artist_id == artist_id,
                Track.id.in_(
                    select(track_featured_artists.c.track_id).where(
                        track_featured_artists.c.artist_id == artist_id
                    )
                ),
            )
        )
    if album_id is not None:
        statement = statement.where(Track.album_id == album_id)
    if genre_id is not None:
        statement = statement.where(
            Track.id.in_(select(track_genres.c.track_id).where(track_genres.c.genre_id == genre_id))
        )
    if year is not None:
        statement = statement.where(extract("year", Album.release_date) == year)
    after = _after(sort, Track.id, cursor)
    if after is not None:
        statement = statement.where(after)
    return (await session.scalars(statement.order_by(*_ordered(sort, Track.id)).limit(limit))).all()


async def search(
    session: AsyncSession, key: str, *, limit: int
) -> tuple[Sequence[Artist], Sequence[Album], Sequence[Track]]:
    found_artists = await artists_named(session, key, limit=limit)
    found_albums = (
        await session.scalars(
            select(Album)
            .where(Album.search_key == key, Album.deleted_at.is_(None), Album.published.is_(True))
            .order_by(Album.id)
            .limit(limit)
        )
    ).all()
    found_tracks = (
        await session.scalars(
            select(Track)
            .join(Album, Album.id == Track.album_id)
            .where(Track.search_key == key, Track.deleted_at.is_(None))
            .where(Album.published.is_(True), _public_track())
            .order_by(Track.popularity.desc(), Track.id)
            .limit(limit)
        )
    ).all()
    return found_artists, found_albums, found_tracks


async def set_album_genres(
    session: AsyncSession, album_id: UUID, genre_ids: Sequence[UUID]
) -> None:
    await session.execute(delete(album_genres).where(album_genres.c.album_id == album_id))
    if genre_ids:
        await session.execute(
            insert(album_genres), [{"album_id": album_id, "genre_id": g} for g in genre_ids]
        )


async def set_track_genres(
    session: AsyncSession, track_id: UUID, genre_ids: Sequence[UUID]
) -> None:
    await session.execute(delete(track_genres).where(track_genres.c.track_id == track_id))
    if genre_ids:
        await session.execute(
            insert(track_genres), [{"track_id": track_id, "genre_id": g} for g in genre_ids]
        )


async def set_track_featured(
    session: AsyncSession, track_id: UUID, artist_ids: Sequence[UUID]
) -> None:
    await session.execute(
        delete(track_featured_artists).where(track_featured_artists.c.track_id == track_id)
    )
    if artist_ids:
        await session.execute(
            insert(track_featured_artists),
            [
                {"track_id": track_id, "artist_id": a, "position": i}
                for i, a in enumerate(artist_ids)
            ],
        )
