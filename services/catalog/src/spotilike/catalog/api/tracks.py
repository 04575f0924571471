"""Tracks: details and lists for everyone; edits for admins and the artist's manager."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, status

from spotilike.catalog.api.deps import Caller, Limit, RuntimeDep
from spotilike.catalog.api.problems import LISTING, OPTIONAL_BEARER, PAGE, WRITE
from spotilike.catalog.schemas import Page, TrackCreate, TrackUpdate, TrackView
from spotilike.catalog.service import browse, tracks
from spotilike.kit.auth import CurrentPrincipal, OptionalPrincipal
from spotilike.kit.db import ReadSession

__all__ = ["router"]

router = APIRouter(prefix="/catalog/tracks", tags=["tracks"])


@router.get(
    "",
    summary="Tracks, filtered by artist, album, genre or year",
    responses=LISTING,
    openapi_extra=OPTIONAL_BEARER,
)
async def list_tracks(
    *,
    principal: OptionalPrincipal,
    runtime: RuntimeDep,
    session: ReadSession,
    artist_id: UUID | None = None,
    album_id: UUID | None = None,
    genre_id: UUID | None = None,
    year: Annotated[int | None, Query(ge=1877, le=2200)] = None,
    sort: Annotated[browse.TrackSort, Query()] = "-popularity",
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    limit: Limit = None,
    include_unpublished: bool = False,
) -> Page[TrackView]:
    page: Page[Any] = await browse.list_tracks(
        runtime,
        session,
        browse.Listing(sort=sort, cursor=cursor, limit=limit),
        principal=principal,
        artist_id=artist_id,
        album_id=album_id,
        genre_id=genre_id,
        year=year,
        include_unpublished=include_unpublished,
    )
    return Page[TrackView](items=page.items, next_cursor=page.next_cursor)


@router.get("/{track_id}", summary="One track", responses=PAGE, openapi_extra=OPTIONAL_BEARER)
async def get_track(
    track_id: UUID, principal: OptionalPrincipal, session: ReadSession
) -> TrackView:
    return await browse.track_detail(session, track_id=track_id, principal=principal)


@router.post(
    "", status_code=status.HTTP_201_CREATED, summary="Add a track to an album", responses=WRITE
)
async def create_track(
    request: TrackCreate, principal: CurrentPrincipal, runtime: RuntimeDep, caller: Caller
) -> TrackView:
    return await tracks.create_track(runtime, principal=principal, request=request, caller=caller)


@router.patch("/{track_id}", summary="Edit a track's metadata", responses=WRITE)
async def update_track(
    track_id: UUID,
    request: TrackUpdate,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    caller: Caller,
) -> TrackView:
    return await tracks.update_track(
        runtime, principal=principal, track_id=track_id, request=request, caller=caller
    )


@router.post(
    "/{track_id}/request-upload",
    summary="Wait for the track's audio upload",
    responses=WRITE,
)
async def request_upload(
    track_id: UUID, principal: CurrentPrincipal, runtime: RuntimeDep, caller: Caller
) -> TrackView:
    return await tracks.request_upload(
        runtime, principal=principal, track_id=track_id, caller=caller
    )


@router.post("/{track_id}/publish", summary="Make a READY track listenable", responses=WRITE)
async def publish_track(
    track_id: UUID, principal: CurrentPrincipal, runtime: RuntimeDep, caller: Caller
) -> TrackView:
    return await tracks.set_track_published(
        runtime, principal=principal, track_id=track_id, published=True, caller=caller
    )


@router.post("/{track_id}/unpublish", summary="Hide a track from listeners", responses=WRITE)
async def unpublish_track(
    track_id: UUID, principal: CurrentPrincipal, runtime: RuntimeDep, caller: Caller
) -> TrackView:
    return await tracks.set_track_published(
        runtime, principal=principal, track_id=track_id, published=False, caller=caller
    )


@router.delete(
    "/{track_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a track",
    responses=WRITE,
)
async def delete_track(
    track_id: UUID, principal: CurrentPrincipal, runtime: RuntimeDep, caller: Caller
) -> None:
    await tracks.delete_track(runtime, principal=principal, track_id=track_id, caller=caller)
