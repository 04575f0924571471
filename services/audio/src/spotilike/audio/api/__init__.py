"""The audio service's HTTP API."""

from spotilike.audio.api.uploads import router as uploads_router

ROUTERS = (uploads_router,)

__all__ = ["ROUTERS"]
