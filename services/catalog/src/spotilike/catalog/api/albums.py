"""Albums: pages and lists for everyone; edits for admins and the artist's manager."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, status

from spotilike.catalog.api.deps import Caller, Limit, RuntimeDep
from spotilike.catalog.api.problems import LISTING, OPTIONAL_BEARER, PAGE, WRITE
from spotilike.catalog.schemas import AlbumCreate, AlbumPage, AlbumUpdate, AlbumView, Page
from spotilike.catalog.service import albums, browse
from spotilike.kit.auth import CurrentPrincipal, OptionalPrincipal
from spotilike.kit.db import ReadSession

__all__ = ["router"]

router = APIRouter(prefix="/catalog/albums", tags=["albums"])


@router.get(
    "",
    summary="Albums, filtered by artist, genre or year, a page at a time",
    responses=LISTING,
    openapi_extra=OPTIONAL_BEARER,
)
async def list_albums(
    *,
    principal: OptionalPrincipal,
    runtime: RuntimeDep,
    session: ReadSession,
    artist_id: UUID | None = None,
    genre_id: UUID | None = None,
    year: Annotated[int | None, Query(ge=1877, le=2200)] = None,
    sort: Annotated[browse.AlbumSort, Query()] = "-release_date",
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    limit: Limit = None,
    include_unpublished: bool = False,
) -> Page[AlbumView]:
    page: Page[Any] = await browse.list_albums(
        runtime,
        session,
        browse.Listing(sort=sort, cursor=cursor, limit=limit),
        principal=principal,
        artist_id=artist_id,
        genre_id=genre_id,
        year=year,
        include_unpublished=include_unpublished,
    )
    return Page[AlbumView](items=page.items, next_cursor=page.next_cursor)


@router.get(
    "/{album_id}",
    summary="The album page: the album and its tracks",
    responses=PAGE,
    openapi_extra=OPTIONAL_BEARER,
)
async def album_page(
    album_id: UUID, principal: OptionalPrincipal, runtime: RuntimeDep, session: ReadSession
) -> AlbumPage:
    return await browse.album_page(runtime, session, album_id=album_id, principal=principal)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add an album", responses=WRITE)
async def create_album(
    request: AlbumCreate, principal: CurrentPrincipal, runtime: RuntimeDep, caller: Caller
) -> AlbumView:
    return await albums.create_album(runtime, principal=principal, request=request, caller=caller)


@router.patch("/{album_id}", summary="Edit an album", responses=WRITE)
async def update_album(
    album_id: UUID,
    request: AlbumUpdate,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    caller: Caller,
) -> AlbumView:
    return await albums.update_album(
        runtime, principal=principal, album_id=album_id, request=request, caller=caller
    )


@router.post("/{album_id}/publish", summary="Make the album visible to listeners", responses=WRITE)
async def publish_album(
    album_id: UUID, principal: CurrentPrincipal, runtime: RuntimeDep, caller: Caller
) -> AlbumView:
    return await albums.set_published(
        runtime, principal=principal, album_id=album_id, published=True, caller=caller
    )


@router.post("/{album_id}/unpublish", summary="Hide the album from listeners", responses=WRITE)
async def unpublish_album(
    album_id: UUID, principal: CurrentPrincipal, runtime: RuntimeDep, caller: Caller
) -> AlbumView:
    return await albums.set_published(
        runtime, principal=principal, album_id=album_id, published=False, caller=caller
    )


@router.delete(
    "/{album_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an album",
    responses=WRITE,
)
async def delete_album(
    album_id: UUID, principal: CurrentPrincipal, runtime: RuntimeDep, caller: Caller
) -> None:
    await albums.delete_album(runtime, principal=principal, album_id=album_id, caller=caller)
