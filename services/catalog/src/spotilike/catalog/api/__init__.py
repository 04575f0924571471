"""The catalog's HTTP API: thin routers over the use cases in ``service``."""

from spotilike.catalog.api.albums import router as albums_router
from spotilike.catalog.api.artists import router as artists_router
from spotilike.catalog.api.genres import router as genres_router
from spotilike.catalog.api.imports import router as imports_router
from spotilike.catalog.api.search import router as search_router
from spotilike.catalog.api.tracks import router as tracks_router

ROUTERS = (
    genres_router,
    artists_router,
    albums_router,
    tracks_router,
    search_router,
    imports_router,
)

__all__ = ["ROUTERS"]
