"""The catalog's events, built from rows in one place.

Each carries the aggregate's whole state and a bumped ``revision``, so the search and
playlist services keep projections without calling back.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.catalog.models import Album, Artist, Track
from spotilike.catalog.service.runtime import Runtime
from spotilike.contracts.events.catalog import (
    AlbumCreatedV1,
    AlbumDeletedV1,
    AlbumUpdatedV1,
    ArtistCreatedV1,
    ArtistDeletedV1,
    ArtistUpdatedV1,
    TrackCreatedV1,
    TrackDeletedV1,
    TrackUpdatedV1,
)

__all__ = ["publish_album", "publish_artist", "publish_track"]


async def publish_artist(
    runtime: Runtime, session: AsyncSession, artist: Artist, *, created: bool = False
) -> None:
    artist.revision += 1
    key = str(artist.id)
    if artist.deleted_at is not None:
        payload: ArtistDeletedV1 | ArtistCreatedV1 | ArtistUpdatedV1 = ArtistDeletedV1(
            artist_id=artist.id, revision=artist.revision
        )
    else:
        kind = ArtistCreatedV1 if created else ArtistUpdatedV1
        payload = kind(
            artist_id=artist.id,
            revision=artist.revision,
            name=artist.name,
            owner_id=artist.user_id,
            image_url=artist.image_url,
            country=artist.country,
        )
    await runtime.outbox.add(session, payload, key=key, subject=key)


async def publish_album(
    runtime: Runtime, session: AsyncSession, album: Album, artist: Artist, *, created: bool = False
) -> None:
    album.revision += 1
    key = str(album.id)
    if album.deleted_at is not None:
        payload: AlbumDeletedV1 | AlbumCreatedV1 | AlbumUpdatedV1 = AlbumDeletedV1(
            album_id=album.id, revision=album.revision
        )
    else:
        await session.refresh(album, ["genres"])
        kind = AlbumCreatedV1 if created else AlbumUpdatedV1
        payload = kind(
            album_id=album.id,
            revision=album.revision,
            artist_id=album.artist_id,
            artist_name=artist.name,
            title=album.title,
            album_type=album.album_type,
            release_date=album.release_date,
            genres=tuple(sorted(g.slug for g in album.genres)),
            published=album.published,
            cover_url=album.cover_url,
            upc=album.upc,
            label=album.label,
        )
    await runtime.outbox.add(session, payload, key=key, subject=key)


async def publish_track(
    runtime: Runtime,
    session: AsyncSession,
    track: Track,
    *,
    album: Album,
    artist: Artist,
    created: bool = False,
) -> None:
    track.revision += 1
    key = str(track.id)
    if track.deleted_at is not None:
        payload: TrackDeletedV1 | TrackCreatedV1 | TrackUpdatedV1 = TrackDeletedV1(
            track_id=track.id, revision=track.revision
        )
    else:
        await session.refresh(track, ["genres", "featured"])
        kind = TrackCreatedV1 if created else TrackUpdatedV1
        payload = kind(
            track_id=track.id,
            revision=track.revision,
            artist_id=track.artist_id,
            artist_name=artist.name,
            album_id=album.id,
            album_title=album.title,
            cover_url=album.cover_url,
            title=track.title,
            track_number=track.track_number,
            disc_number=track.disc_number,
            isrc=track.isrc,
            duration_ms=track.duration_ms,
            explicit=track.explicit,
            genres=tuple(sorted(g.slug for g in track.genres)),
            featured_artist_ids=tuple(a.id for a in track.featured),
            featured_artist_names=tuple(a.name for a in track.featured),
            published=track.published and album.published,
            status=track.status,
            popularity=track.popularity,
            hls_manifest_key=track.hls_manifest_key,
            download_key=track.download_key,
            peaks_key=track.peaks_key,
            loudness_lufs=track.loudness_lufs,
            gain_db=track.gain_db,
        )
    await runtime.outbox.add(session, payload, key=key, subject=key)
