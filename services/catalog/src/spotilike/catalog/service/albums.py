"""Albums: created and edited by an admin or the artist's manager."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import uuid_utils.compat as uuid_compat
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.catalog import repository, text
from spotilike.catalog.models import Album, Artist
from spotilike.catalog.schemas import AlbumCreate, AlbumUpdate, AlbumView
from spotilike.catalog.service.access import require_editor
from spotilike.catalog.service.events import publish_album, publish_track
from spotilike.catalog.service.runtime import Runtime
from spotilike.catalog.service.validation import (
    checked_name,
    checked_release_date,
    checked_upc,
    duplicate,
    existing_genres,
)
from spotilike.catalog.service.views import album_view
from spotilike.catalog.service.writing import Write, write
from spotilike.kit.auth import Principal
from spotilike.kit.errors import NotFound, invalid_field

__all__ = ["create_album", "delete_album", "editable_album", "set_published", "update_album"]


def album_not_found(album_id: UUID) -> NotFound:
    return NotFound(f"no album {album_id}", code="catalog/album-not-found")


async def editable_album(
    session: AsyncSession, principal: Principal, album_id: UUID
) -> tuple[Album, Artist]:
    """The album and its artist, locked, if the caller may change it.

    Someone else's album answers 403 rather than 404: albums are public, so hiding that
    one exists would protect nothing.
    """
    album = await repository.album(session, album_id, lock=True)
    if album is None:
        raise album_not_found(album_id)
    artist = await repository.artist(session, album.artist_id)
    if artist is None:
        raise album_not_found(album_id)
    require_editor(principal, artist)
    return album, artist


async def _unique(
    session: AsyncSession, *, artist_id: UUID, key: str, upc: str | None, album_id: UUID | None
) -> None:
    same = await repository.album_by_duplicate_key(session, artist_id=artist_id, duplicate_key=key)
    if same is not None and same.id != album_id:
        raise duplicate(same, "this artist already has an album with this title")
    if upc is not None:
        same_upc = await repository.album_by_upc(session, upc)
        if same_upc is not None and same_upc.id != album_id:
            raise duplicate(same_upc, "this UPC belongs to another album")


async def create_album(
    runtime: Runtime, *, principal: Principal, request: AlbumCreate, caller: str | None
) -> AlbumView:
    title = checked_name(request.title, field="title")
    upc = checked_upc(request.upc)
    release_date = checked_release_date(request.release_date)
    label = checked_name(request.label, field="label") if request.label else None
    async with write(runtime, caller=caller) as work:
        artist = await repository.artist(work.session, request.artist_id)
        if artist is None:
            raise invalid_field("/artist_id", f"no artist {request.artist_id}")
        require_editor(principal, artist)
        genre_ids = await existing_genres(work.session, request.genre_ids)
        key = text.duplicate_key(title)
        await _unique(work.session, artist_id=artist.id, key=key, upc=upc, album_id=None)
        album = Album(
            id=uuid_compat.uuid7(),
            artist_id=artist.id,
            title=title,
            search_key=text.search_key(title),
            duplicate_key=key,
            album_type=request.album_type.value,
            release_date=release_date,
            upc=upc,
            cover_url=str(request.cover_url) if request.cover_url else None,
            label=label,
            published=False,
            revision=0,
        )
        await repository.add(work.session, album)
        await repository.set_album_genres(work.session, album.id, genre_ids)
        await publish_album(runtime, work.session, album, artist, created=True)
        work.touches_artist(artist.id)
        await work.session.refresh(album)
        view = album_view(album, artist)
    return view


async def update_album(
    runtime: Runtime,
    *,
    principal: Principal,
    album_id: UUID,
    request: AlbumUpdate,
    caller: str | None,
) -> AlbumView:
    fields = request.model_dump(exclude_unset=True)
    async with write(runtime, caller=caller) as work:
        album, artist = await editable_album(work.session, principal, album_id)
        if fields.get("title") is not None:
            album.title = checked_name(fields["title"], field="title")
            album.search_key = text.search_key(album.title)
            album.duplicate_key = text.duplicate_key(album.title)
        if "upc" in fields:
            album.upc = checked_upc(request.upc)
        await _unique(
            work.session,
            artist_id=artist.id,
            key=album.duplicate_key,
            upc=album.upc,
            album_id=album.id,
        )
        if fields.get("album_type") is not None and request.album_type is not None:
            album.album_type = request.album_type.value
        if "release_date" in fields:
            album.release_date = checked_release_date(request.release_date)
        if "cover_url" in fields:
            album.cover_url = str(request.cover_url) if request.cover_url else None
        if "label" in fields:
            album.label = checked_name(request.label, field="label") if request.label else None
        if request.genre_ids is not None:
            await repository.set_album_genres(
                work.session, album.id, await existing_genres(work.session, request.genre_ids)
            )
        album.updated_at = datetime.now(UTC)
        await _republish(
            runtime, work, album, artist, tracks_too="title" in fields or "cover_url" in fields
        )
        await work.session.refresh(album)
        view = album_view(album, artist)
    return view


async def _republish(
    runtime: Runtime, work: Write, album: Album, artist: Artist, *, tracks_too: bool
) -> None:
    """Album events, and track events when what tracks carry of the album changed."""
    await publish_album(runtime, work.session, album, artist)
    work.touches_album(album.id)
    work.touches_artist(artist.id)
    if tracks_too:
        for track in await repository.tracks_of_album(work.session, album.id, public=False):
            await publish_track(runtime, work.session, track, album=album, artist=artist)


async def set_published(
    runtime: Runtime, *, principal: Principal, album_id: UUID, published: bool, caller: str | None
) -> AlbumView:
    async with write(runtime, caller=caller) as work:
        album, artist = await editable_album(work.session, principal, album_id)
        if album.published != published:
            album.published = published
            album.updated_at = datetime.now(UTC)
            # A track is listenable only on a published album: its effective state changed.
            await _republish(runtime, work, album, artist, tracks_too=True)
        await work.session.refresh(album)
        view = album_view(album, artist)
    return view


async def delete_album(
    runtime: Runtime, *, principal: Principal, album_id: UUID, caller: str | None
) -> None:
    """Soft-deletes the album and its tracks, with a deletion event for each."""
    async with write(runtime, caller=caller) as work:
        album, artist = await editable_album(work.session, principal, album_id)
        now = datetime.now(UTC)
        for track in await repository.tracks_of_album(work.session, album.id, public=False):
            track.deleted_at = now
            await publish_track(runtime, work.session, track, album=album, artist=artist)
        album.deleted_at = now
        await publish_album(runtime, work.session, album, artist)
        work.touches_album(album.id)
        work.touches_artist(artist.id)
