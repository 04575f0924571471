"""Artists: ADMIN creates and deletes them; an artist's manager edits its profile."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import uuid_utils.compat as uuid_compat

from spotilike.catalog import repository, text
from spotilike.catalog.models import Artist
from spotilike.catalog.schemas import ArtistCreate, ArtistUpdate, ArtistView
from spotilike.catalog.service.access import is_admin, require_admin, require_editor
from spotilike.catalog.service.events import publish_artist
from spotilike.catalog.service.runtime import Runtime
from spotilike.catalog.service.validation import checked_name
from spotilike.catalog.service.views import artist_view
from spotilike.catalog.service.writing import write
from spotilike.kit.auth import Principal
from spotilike.kit.errors import Conflict, Forbidden, NotFound

__all__ = ["create_artist", "delete_artist", "update_artist"]


def _not_found(artist_id: UUID) -> NotFound:
    return NotFound(f"no artist {artist_id}", code="catalog/artist-not-found")


async def create_artist(
    runtime: Runtime, *, principal: Principal, request: ArtistCreate, caller: str | None
) -> ArtistView:
    require_admin(principal)
    name = checked_name(request.name, field="name")
    async with write(runtime, caller=caller) as work:
        artist = Artist(
            id=uuid_compat.uuid7(),
            name=name,
            search_key=text.search_key(name),
            bio=request.bio,
            image_url=str(request.image_url) if request.image_url else None,
            country=request.country,
            user_id=request.user_id,
            revision=0,
        )
        await repository.add(work.session, artist)
        await publish_artist(runtime, work.session, artist, created=True)
        await work.session.refresh(artist)
        view = artist_view(artist)
    return view


async def update_artist(
    runtime: Runtime,
    *,
    principal: Principal,
    artist_id: UUID,
    request: ArtistUpdate,
    caller: str | None,
) -> ArtistView:
    fields = request.model_dump(exclude_unset=True)
    if "user_id" in fields and not is_admin(principal):
        raise Forbidden("only an admin assigns an artist's manager", code="auth/missing-role")
    async with write(runtime, caller=caller) as work:
        artist = await repository.artist(work.session, artist_id, lock=True)
        if artist is None:
            raise _not_found(artist_id)
        require_editor(principal, artist)
        if fields.get("name") is not None:
            artist.name = checked_name(fields["name"], field="name")
            artist.search_key = text.search_key(artist.name)
        if "bio" in fields:
            artist.bio = request.bio
        if "image_url" in fields:
            artist.image_url = str(request.image_url) if request.image_url else None
        if "country" in fields:
            artist.country = request.country
        if "user_id" in fields:
            artist.user_id = request.user_id
        artist.updated_at = datetime.now(UTC)
        await publish_artist(runtime, work.session, artist)
        work.touches_artist(artist.id)
        # Album pages show the artist's name, so they go stale with it.
        for album in await repository.albums_of_artist(
            work.session, artist.id, public=False, limit=10_000
        ):
            work.touches_album(album.id)
        await work.session.flush()
        await work.session.refresh(artist)
        view = artist_view(artist)
    return view


async def delete_artist(
    runtime: Runtime, *, principal: Principal, artist_id: UUID, caller: str | None
) -> None:
    require_admin(principal)
    async with write(runtime, caller=caller) as work:
        artist = await repository.artist(work.session, artist_id, lock=True)
        if artist is None:
            raise _not_found(artist_id)
        albums = await repository.albums_of_artist(work.session, artist.id, public=False, limit=1)
        if albums:
            raise Conflict(
                "delete the artist's albums first; an artist with a catalog stays",
                code="catalog/artist-has-albums",
            )
        artist.deleted_at = datetime.now(UTC)
        await publish_artist(runtime, work.session, artist)
        work.touches_artist(artist.id)
