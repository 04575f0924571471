"""Exact-match search (case- and accent-insensitive); typo tolerance is the search service's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from spotilike.catalog.api.deps import RuntimeDep
from spotilike.catalog.api.problems import PUBLIC_LISTING
from spotilike.catalog.schemas import SearchResults
from spotilike.catalog.service import browse
from spotilike.kit.db import ReadSession

__all__ = ["router"]

router = APIRouter(prefix="/catalog", tags=["search"])


@router.get(
    "/search", summary="Artists, albums and tracks named exactly q", responses=PUBLIC_LISTING
)
async def search(
    q: Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[^\x00]*$")],
    runtime: RuntimeDep,
    session: ReadSession,
) -> SearchResults:
    return await browse.search(runtime, session, query=q)
