"""What listeners read: pages, lists and exact-match search.

Album and artist pages as anonymous listeners see them go through the page cache; an
editor (admin or the artist's manager) reads them straight from the database, drafts
included. Cache fills read the primary: a replica a moment behind an invalidating write
would otherwise put the old page back for the whole TTL, and the cache takes that load
off the primary anyway. A missing or unpublished page is cached as missing too, so probing ids costs
the database nothing; publishing invalidates it like any other write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.catalog import repository, text
from spotilike.catalog.models import Album, Artist, Track
from spotilike.catalog.schemas import AlbumPage, ArtistPage, Page, SearchResults, TrackView
from spotilike.catalog.service.access import can_edit, is_admin
from spotilike.catalog.service.albums import album_not_found
from spotilike.catalog.service.runtime import Runtime
from spotilike.catalog.service.tracks import track_not_found
from spotilike.catalog.service.views import (
    album_view,
    album_views,
    artist_view,
    track_view,
    track_views,
)
from spotilike.catalog.service.writing import album_page_key, artist_page_key
from spotilike.kit.auth import Principal
from spotilike.kit.errors import NotFound, invalid_field
from spotilike.kit.pagination import clamp_page_size, decode_cursor, encode_cursor

__all__ = [
    "ALBUM_SORTS",
    "ARTIST_SORTS",
    "TRACK_SORTS",
    "Listing",
    "album_page",
    "artist_page",
    "list_albums",
    "list_artists",
    "list_tracks",
    "search",
    "track_detail",
]

ArtistSort = Literal["name", "-name", "created", "-created"]
AlbumSort = Literal["release_date", "-release_date", "title", "-title", "created", "-created"]
TrackSort = Literal["title", "-title", "popularity", "-popularity", "created", "-created"]
ARTIST_SORTS: tuple[str, ...] = ("name", "-name", "created", "-created")
ALBUM_SORTS: tuple[str, ...] = (
    "release_date",
    "-release_date",
    "title",
    "-title",
    "created",
    "-created",
)
TRACK_SORTS: tuple[str, ...] = (
    "title",
    "-title",
    "popularity",
    "-popularity",
    "created",
    "-created",
)


@dataclass(frozen=True)
class Listing:
    sort: str
    cursor: str | None
    limit: int | None


def _sort(name: str, columns: dict[str, Any]) -> repository.Sort:
    return repository.Sort(key=columns[name.lstrip("-")], descending=name.startswith("-"))


def _position(cursor: str | None) -> list[Any] | None:
    return decode_cursor(cursor, arity=2) if cursor else None


def _next(rows: list[Any], limit: int, value: Any) -> str | None:
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return encode_cursor([value(last), str(last.id)])


def _editor_hint(principal: Principal | None) -> bool:
    """Whether the caller could be an editor at all: only they are worth a lookup."""
    return principal is not None and (principal.has_role("ADMIN") or principal.has_role("ARTIST"))


async def _album_page(
    session: AsyncSession, album: Album, artist: Artist, *, editor: bool
) -> AlbumPage:
    tracks = await repository.tracks_of_album(session, album.id, public=not editor)
    return AlbumPage(
        album=album_view(album, artist),
        tracks=[track_view(t, album=album, artist=artist, editor=editor) for t in tracks],
    )


async def album_page(
    runtime: Runtime, session: AsyncSession, *, album_id: UUID, principal: Principal | None
) -> AlbumPage:
    if _editor_hint(principal):
        album = await repository.album(session, album_id)
        artist = await repository.artist(session, album.artist_id) if album else None
        if album is not None and artist is not None and can_edit(principal, artist):
            return await _album_page(session, album, artist, editor=True)

    async def load() -> Any:
        async with runtime.database.write_session() as primary:
            album = await repository.album(primary, album_id)
            if album is None or not album.published:
                return None
            artist = await repository.artist(primary, album.artist_id)
            if artist is None:
                return None
            page = await _album_page(primary, album, artist, editor=False)
            return page.model_dump(mode="json")

    cached = await runtime.pages.get_or_load(album_page_key(album_id), load)
    if cached is None:
        raise album_not_found(album_id)
    return AlbumPage.model_validate(cached)


async def artist_page(
    runtime: Runtime, session: AsyncSession, *, artist_id: UUID, principal: Principal | None
) -> ArtistPage:
    settings = runtime.settings

    async def build(reader: AsyncSession, artist: Artist, *, editor: bool) -> ArtistPage:
        albums = await repository.albums_of_artist(reader, artist.id, public=not editor, limit=50)
        top = await repository.top_tracks(
            reader, artist.id, limit=settings.top_tracks_on_artist_page
        )
        return ArtistPage(
            artist=artist_view(artist),
            albums=[album_view(album, artist) for album in albums],
            top_tracks=await track_views(reader, top),
        )

    if _editor_hint(principal):
        artist = await repository.artist(session, artist_id)
        if artist is not None and can_edit(principal, artist):
            return await build(session, artist, editor=True)

    async def load() -> Any:
        async with runtime.database.write_session() as primary:
            artist = await repository.artist(primary, artist_id)
            if artist is None:
                return None
            return (await build(primary, artist, editor=False)).model_dump(mode="json")

    cached = await runtime.pages.get_or_load(artist_page_key(artist_id), load)
    if cached is None:
        raise NotFound(f"no artist {artist_id}", code="catalog/artist-not-found")
    return ArtistPage.model_validate(cached)


async def track_detail(
    session: AsyncSession, *, track_id: UUID, principal: Principal | None
) -> TrackView:
    track = await repository.track(session, track_id)
    album = await repository.album(session, track.album_id) if track else None
    artist = await repository.artist(session, track.artist_id) if track else None
    if track is None or album is None or artist is None:
        raise track_not_found(track_id)
    editor = can_edit(principal, artist)
    public = album.published and track.published and track.status == "READY"
    if not public and not editor:
        raise track_not_found(track_id)
    return track_view(track, album=album, artist=artist, editor=editor)


async def _shows_drafts(
    session: AsyncSession, principal: Principal | None, artist_id: UUID | None, asked: bool
) -> bool:
    if not asked:
        return False
    if is_admin(principal):
        return True
    artist = await repository.artist(session, artist_id) if artist_id else None
    if artist is None or not can_edit(principal, artist):
        raise invalid_field(
            "/include_unpublished",
            "only admins, or an artist's manager filtering by that artist, see drafts",
            location="query",
        )
    return True


async def list_artists(runtime: Runtime, session: AsyncSession, listing: Listing) -> Page[Any]:
    limit = clamp_page_size(
        listing.limit,
        default=runtime.settings.default_page_size,
        maximum=runtime.settings.max_page_size,
    )
    columns = {"name": Artist.name, "created": Artist.created_at}
    sort = _sort(listing.sort, columns)
    field = listing.sort.lstrip("-")
    rows = list(
        await repository.artists(
            session, sort=sort, cursor=_cursor_values(listing.cursor, field), limit=limit + 1
        )
    )
    return Page(
        items=[artist_view(a) for a in rows[:limit]],
        next_cursor=_next(
            rows, limit, lambda a: a.name if field == "name" else a.created_at.isoformat()
        ),
    )


async def list_albums(
    runtime: Runtime,
    session: AsyncSession,
    listing: Listing,
    *,
    principal: Principal | None,
    artist_id: UUID | None,
    genre_id: UUID | None,
    year: int | None,
    include_unpublished: bool,
) -> Page[Any]:
    limit = clamp_page_size(
        listing.limit,
        default=runtime.settings.default_page_size,
        maximum=runtime.settings.max_page_size,
    )
    columns = {
        "release_date": func.coalesce(Album.release_date, repository.EARLIEST_DATE),
        "title": Album.title,
        "created": Album.created_at,
    }
    field = listing.sort.lstrip("-")
    drafts = await _shows_drafts(session, principal, artist_id, include_unpublished)
    rows = list(
        await repository.albums(
            session,
            sort=_sort(listing.sort, columns),
            cursor=_cursor_values(listing.cursor, field),
            limit=limit + 1,
            artist_id=artist_id,
            genre_id=genre_id,
            year=year,
            public=not drafts,
        )
    )

    def value(album: Album) -> Any:
        if field == "release_date":
            return (album.release_date or repository.EARLIEST_DATE).isoformat()
        return album.title if field == "title" else album.created_at.isoformat()

    return Page(
        items=await album_views(session, rows[:limit]), next_cursor=_next(rows, limit, value)
    )


async def list_tracks(
    runtime: Runtime,
    session: AsyncSession,
    listing: Listing,
    *,
    principal: Principal | None,
    artist_id: UUID | None,
    album_id: UUID | None,
    genre_id: UUID | None,
    year: int | None,
    include_unpublished: bool,
) -> Page[Any]:
    limit = clamp_page_size(
        listing.limit,
        default=runtime.settings.default_page_size,
        maximum=runtime.settings.max_page_size,
    )
    columns = {"title": Track.title, "popularity": Track.popularity, "created": Track.created_at}
    field = listing.sort.lstrip("-")
    drafts = await _shows_drafts(session, principal, artist_id, include_unpublished)
    rows = list(
        await repository.tracks(
            session,
            sort=_sort(listing.sort, columns),
            cursor=_cursor_values(listing.cursor, field),
            limit=limit + 1,
            artist_id=artist_id,
            album_id=album_id,
            genre_id=genre_id,
            year=year,
            public=not drafts,
        )
    )

    def value(track: Track) -> Any:
        if field == "popularity":
            return track.popularity
        return track.title if field == "title" else track.created_at.isoformat()

    return Page(
        items=await track_views(session, rows[:limit], editor=drafts),
        next_cursor=_next(rows, limit, value),
    )


def _sort_value(field: str, value: Any) -> Any:
    """The cursor's sort value as the column compares it; ValueError when it cannot be."""
    if field == "release_date":
        return date.fromisoformat(str(value))
    if field == "created":
        return datetime.fromisoformat(str(value))
    if field == "popularity":
        if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) <= value < 2**31:
            raise ValueError(value)
        return value
    if not isinstance(value, str) or "\x00" in value:
        raise ValueError(value)
    return value


def _cursor_values(cursor: str | None, field: str) -> list[Any] | None:
    """Decodes the cursor and turns its values back into what the columns compare with."""
    values = _position(cursor)
    if values is None:
        return None
    sort_value, last_id = values
    try:
        return [_sort_value(field, sort_value), UUID(str(last_id))]
    except ValueError:
        raise invalid_field(
            "/cursor", "not a cursor this endpoint issued for this sort", location="query"
        ) from None


async def search(runtime: Runtime, session: AsyncSession, *, query: str) -> SearchResults:
    key = text.search_key(query)
    if not key:
        raise invalid_field("/q", "search for at least one letter or digit", location="query")
    limit = runtime.settings.default_page_size
    artists, albums, tracks = await repository.search(session, key, limit=limit)
    return SearchResults(
        query=query,
        artists=[artist_view(a) for a in artists],
        albums=await album_views(session, albums),
        tracks=await track_views(session, tracks),
    )
