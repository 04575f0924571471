"""Genres: a managed list."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, status

from spotilike.catalog.api.deps import Caller, RuntimeDep
from spotilike.catalog.api.problems import WRITE
from spotilike.catalog.schemas import GenreCreate, GenreUpdate, GenreView
from spotilike.catalog.service import genres
from spotilike.kit.auth import Principal, require_role
from spotilike.kit.db import ReadSession

__all__ = ["router"]

router = APIRouter(prefix="/catalog/genres", tags=["genres"])
Admin = Annotated[Principal, Depends(require_role("ADMIN"))]


@router.get("", summary="Every genre")
async def list_genres(session: ReadSession) -> list[GenreView]:
    return [GenreView.model_validate(g) for g in await genres.list_genres(session)]


@router.post(
    "", status_code=status.HTTP_201_CREATED, summary="Add a genre (ADMIN)", responses=WRITE
)
async def create_genre(
    request: GenreCreate, _admin: Admin, runtime: RuntimeDep, caller: Caller
) -> GenreView:
    return GenreView.model_validate(
        await genres.create_genre(runtime, request=request, caller=caller)
    )


@router.patch("/{genre_id}", summary="Rename or move a genre (ADMIN)", responses=WRITE)
async def update_genre(
    genre_id: UUID, request: GenreUpdate, _admin: Admin, runtime: RuntimeDep, caller: Caller
) -> GenreView:
    genre = await genres.update_genre(runtime, genre_id=genre_id, request=request, caller=caller)
    return GenreView.model_validate(genre)


@router.delete(
    "/{genre_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a genre (ADMIN)",
    responses=WRITE,
)
async def delete_genre(genre_id: UUID, _admin: Admin, runtime: RuntimeDep, caller: Caller) -> None:
    await genres.delete_genre(runtime, genre_id=genre_id, caller=caller)
