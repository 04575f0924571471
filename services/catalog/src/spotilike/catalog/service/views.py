"""Rows to the API's views, loading what a view shows from other rows in one place."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.catalog import repository
from spotilike.catalog.models import Album, Artist, Track
from spotilike.catalog.schemas import AlbumView, ArtistRef, ArtistView, TrackView

__all__ = ["album_view", "album_views", "artist_view", "track_view", "track_views"]


def artist_view(artist: Artist) -> ArtistView:
    return ArtistView(
        id=artist.id,
        name=artist.name,
        bio=artist.bio,
        image_url=artist.image_url,
        country=artist.country,
        created_at=artist.created_at,
    )


def _ref(artist: Artist) -> ArtistRef:
    return ArtistRef(id=artist.id, name=artist.name)


def album_view(album: Album, artist: Artist) -> AlbumView:
    return AlbumView(
        id=album.id,
        artist=_ref(artist),
        title=album.title,
        album_type=album.album_type,
        release_date=album.release_date,
        upc=album.upc,
        cover_url=album.cover_url,
        label=album.label,
        genres=sorted(genre.slug for genre in album.genres),
        published=album.published,
        created_at=album.created_at,
    )


def track_view(track: Track, *, album: Album, artist: Artist, editor: bool) -> TrackView:
    return TrackView(
        id=track.id,
        album_id=album.id,
        album_title=album.title,
        artist=_ref(artist),
        featured_artists=[_ref(a) for a in track.featured if a.deleted_at is None],
        title=track.title,
        track_number=track.track_number,
        disc_number=track.disc_number,
        isrc=track.isrc,
        explicit=track.explicit,
        genres=sorted(genre.slug for genre in track.genres),
        status=track.status,
        published=track.published,
        duration_ms=track.duration_ms,
        renditions_kbps=sorted(track.renditions_kbps or []),
        loudness_lufs=track.loudness_lufs,
        gain_db=track.gain_db,
        failure_reason=track.failure_reason if editor else None,
        created_at=track.created_at,
    )


async def _artists(session: AsyncSession, ids: set[UUID]) -> dict[UUID, Artist]:
    return {a.id: a for a in await repository.artists_by_ids(session, sorted(ids))}


async def album_views(session: AsyncSession, albums: Sequence[Album]) -> list[AlbumView]:
    artists = await _artists(session, {album.artist_id for album in albums})
    return [
        album_view(album, artists[album.artist_id])
        for album in albums
        if album.artist_id in artists
    ]


async def track_views(
    session: AsyncSession, tracks: Sequence[Track], *, editor: bool = False
) -> list[TrackView]:
    artists = await _artists(session, {track.artist_id for track in tracks})
    wanted = sorted({track.album_id for track in tracks})
    albums = {album.id: album for album in await repository.albums_by_ids(session, wanted)}
    return [
        track_view(
            track, album=albums[track.album_id], artist=artists[track.artist_id], editor=editor
        )
        for track in tracks
        if track.album_id in albums and track.artist_id in artists
    ]
