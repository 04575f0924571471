"""Artists: pages and lists for everyone; edits for admins and the artist's manager."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, status

from spotilike.catalog.api.deps import Caller, Limit, RuntimeDep
from spotilike.catalog.api.problems import OPTIONAL_BEARER, PAGE, PUBLIC_LISTING, WRITE
from spotilike.catalog.schemas import ArtistCreate, ArtistPage, ArtistUpdate, ArtistView, Page
from spotilike.catalog.service import artists, browse
from spotilike.kit.auth import CurrentPrincipal, OptionalPrincipal
from spotilike.kit.db import ReadSession

__all__ = ["router"]

router = APIRouter(prefix="/catalog/artists", tags=["artists"])


@router.get("", summary="Artists, a page at a time", responses=PUBLIC_LISTING)
async def list_artists(
    runtime: RuntimeDep,
    session: ReadSession,
    sort: Annotated[browse.ArtistSort, Query()] = "name",
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    limit: Limit = None,
) -> Page[ArtistView]:
    page: Page[Any] = await browse.list_artists(
        runtime, session, browse.Listing(sort=sort, cursor=cursor, limit=limit)
    )
    return Page[ArtistView](items=page.items, next_cursor=page.next_cursor)


@router.get(
    "/{artist_id}",
    summary="The artist page: profile, albums and top tracks",
    responses=PAGE,
    openapi_extra=OPTIONAL_BEARER,
)
async def artist_page(
    artist_id: UUID, principal: OptionalPrincipal, runtime: RuntimeDep, session: ReadSession
) -> ArtistPage:
    return await browse.artist_page(runtime, session, artist_id=artist_id, principal=principal)


@router.post(
    "", status_code=status.HTTP_201_CREATED, summary="Add an artist (ADMIN)", responses=WRITE
)
async def create_artist(
    request: ArtistCreate, principal: CurrentPrincipal, runtime: RuntimeDep, caller: Caller
) -> ArtistView:
    return await artists.create_artist(runtime, principal=principal, request=request, caller=caller)


@router.patch("/{artist_id}", summary="Edit an artist (ADMIN or its manager)", responses=WRITE)
async def update_artist(
    artist_id: UUID,
    request: ArtistUpdate,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    caller: Caller,
) -> ArtistView:
    return await artists.update_artist(
        runtime, principal=principal, artist_id=artist_id, request=request, caller=caller
    )


@router.delete(
    "/{artist_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an artist (ADMIN)",
    responses=WRITE,
)
async def delete_artist(
    artist_id: UUID, principal: CurrentPrincipal, runtime: RuntimeDep, caller: Caller
) -> None:
    await artists.delete_artist(runtime, principal=principal, artist_id=artist_id, caller=caller)
