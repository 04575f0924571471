"""Tracks: created and edited by an admin or the artist's manager."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import uuid_utils.compat as uuid_compat
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.catalog import repository, text
from spotilike.catalog.models import Album, Artist, Track, TrackStatus
from spotilike.catalog.schemas import TrackCreate, TrackUpdate, TrackView
from spotilike.catalog.service.access import require_editor
from spotilike.catalog.service.albums import editable_album
from spotilike.catalog.service.events import publish_track
from spotilike.catalog.service.lifecycle import check_transition
from spotilike.catalog.service.runtime import Runtime
from spotilike.catalog.service.validation import (
    checked_isrc,
    checked_name,
    duplicate,
    existing_artists,
    existing_genres,
)
from spotilike.catalog.service.views import track_view
from spotilike.catalog.service.writing import Write, write
from spotilike.kit.auth import Principal
from spotilike.kit.errors import Conflict, NotFound, invalid_field

__all__ = [
    "create_track",
    "delete_track",
    "request_upload",
    "set_track_published",
    "update_track",
]


def track_not_found(track_id: UUID) -> NotFound:
    return NotFound(f"no track {track_id}", code="catalog/track-not-found")


async def _editable(
    session: AsyncSession, principal: Principal, track_id: UUID
) -> tuple[Track, Album, Artist]:
    track = await repository.track(session, track_id, lock=True)
    if track is None:
        raise track_not_found(track_id)
    album = await repository.album(session, track.album_id)
    artist = await repository.artist(session, track.artist_id)
    if album is None or artist is None:
        raise track_not_found(track_id)
    require_editor(principal, artist)
    return track, album, artist


async def _unique(
    session: AsyncSession, track: Track, *, check_position: bool, check_title: bool
) -> None:
    if check_title:
        same = await repository.track_by_duplicate_key(
            session, artist_id=track.artist_id, duplicate_key=track.duplicate_key
        )
        if same is not None and same.id != track.id:
            raise duplicate(same, "this artist already has a track with this title")
    if track.isrc is not None:
        same_isrc = await repository.track_by_isrc(session, track.isrc)
        if same_isrc is not None and same_isrc.id != track.id:
            raise duplicate(same_isrc, "this ISRC belongs to another track")
    if check_position:
        there = await repository.track_at_position(
            session,
            album_id=track.album_id,
            disc_number=track.disc_number,
            track_number=track.track_number,
        )
        if there is not None and there.id != track.id:
            raise invalid_field(
                "/track_number",
                f"disc {track.disc_number} already has track {track.track_number}: {there.id}",
            )


async def _finish(
    runtime: Runtime, work: Write, track: Track, album: Album, artist: Artist, *, created: bool
) -> TrackView:
    track.updated_at = datetime.now(UTC)
    await publish_track(runtime, work.session, track, album=album, artist=artist, created=created)
    work.touches_album(album.id)
    work.touches_artist(artist.id)
    await work.session.refresh(track)
    return track_view(track, album=album, artist=artist, editor=True)


async def create_track(
    runtime: Runtime, *, principal: Principal, request: TrackCreate, caller: str | None
) -> TrackView:
    title = checked_name(request.title, field="title")
    isrc = checked_isrc(request.isrc)
    async with write(runtime, caller=caller) as work:
        album = await repository.album(work.session, request.album_id)
        if album is None:
            raise invalid_field("/album_id", f"no album {request.album_id}")
        album, artist = await editable_album(work.session, principal, album.id)
        genre_ids = await existing_genres(work.session, request.genre_ids)
        featured = await existing_artists(
            work.session,
            request.featured_artist_ids,
            field="featured_artist_ids",
            primary=artist.id,
        )
        track = Track(
            id=uuid_compat.uuid7(),
            album_id=album.id,
            artist_id=artist.id,
            title=title,
            search_key=text.search_key(title),
            duplicate_key=text.duplicate_key(title),
            track_number=request.track_number,
            disc_number=request.disc_number,
            isrc=isrc,
            explicit=request.explicit,
            status=TrackStatus.DRAFT.value,
            published=False,
            popularity=0,
            revision=0,
        )
        await _unique(work.session, track, check_position=True, check_title=True)
        await repository.add(work.session, track)
        await repository.set_track_genres(work.session, track.id, genre_ids)
        await repository.set_track_featured(work.session, track.id, featured)
        view = await _finish(runtime, work, track, album, artist, created=True)
    return view


async def update_track(
    runtime: Runtime,
    *,
    principal: Principal,
    track_id: UUID,
    request: TrackUpdate,
    caller: str | None,
) -> TrackView:
    fields = request.model_dump(exclude_unset=True)
    async with write(runtime, caller=caller) as work:
        track, album, artist = await _editable(work.session, principal, track_id)
        if fields.get("title") is not None:
            track.title = checked_name(fields["title"], field="title")
            track.search_key = text.search_key(track.title)
            track.duplicate_key = text.duplicate_key(track.title)
        if "isrc" in fields:
            track.isrc = checked_isrc(request.isrc)
        if request.track_number is not None:
            track.track_number = request.track_number
        if request.disc_number is not None:
            track.disc_number = request.disc_number
        if request.explicit is not None:
            track.explicit = request.explicit
        await _unique(
            work.session,
            track,
            check_position=request.track_number is not None or request.disc_number is not None,
            check_title="title" in fields,
        )
        if request.genre_ids is not None:
            await repository.set_track_genres(
                work.session, track.id, await existing_genres(work.session, request.genre_ids)
            )
        if request.featured_artist_ids is not None:
            featured = await existing_artists(
                work.session,
                request.featured_artist_ids,
                field="featured_artist_ids",
                primary=artist.id,
            )
            await repository.set_track_featured(work.session, track.id, featured)
        await work.session.flush()
        view = await _finish(runtime, work, track, album, artist, created=False)
    return view


async def request_upload(
    runtime: Runtime, *, principal: Principal, track_id: UUID, caller: str | None
) -> TrackView:
    """The artist is about to upload audio: the track waits for it."""
    async with write(runtime, caller=caller) as work:
        track, album, artist = await _editable(work.session, principal, track_id)
        check_transition(track, TrackStatus.AWAITING_UPLOAD)
        track.status = TrackStatus.AWAITING_UPLOAD.value
        view = await _finish(runtime, work, track, album, artist, created=False)
    return view


async def set_track_published(
    runtime: Runtime, *, principal: Principal, track_id: UUID, published: bool, caller: str | None
) -> TrackView:
    async with write(runtime, caller=caller) as work:
        track, album, artist = await _editable(work.session, principal, track_id)
        if published and track.status != TrackStatus.READY.value:
            raise Conflict(
                f"only a READY track can be published; this one is {track.status}",
                code="catalog/not-ready",
                extensions={"track_status": track.status},
            )
        track.published = published
        view = await _finish(runtime, work, track, album, artist, created=False)
    return view


async def delete_track(
    runtime: Runtime, *, principal: Principal, track_id: UUID, caller: str | None
) -> None:
    async with write(runtime, caller=caller) as work:
        track, album, artist = await _editable(work.session, principal, track_id)
        track.deleted_at = datetime.now(UTC)
        await publish_track(runtime, work.session, track, album=album, artist=artist)
        work.touches_album(album.id)
        work.touches_artist(artist.id)
