"""The streaming service's HTTP API."""

from spotilike.streaming.api.events import router as events_router
from spotilike.streaming.api.stream import router as stream_router

ROUTERS = (stream_router, events_router)

__all__ = ["ROUTERS"]
