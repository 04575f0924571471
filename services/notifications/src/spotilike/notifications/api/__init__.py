"""The notification service's HTTP API."""

from spotilike.notifications.api.admin import router as admin_router
from spotilike.notifications.api.unsubscribe import router as unsubscribe_router

ROUTERS = (admin_router, unsubscribe_router)

__all__ = ["ROUTERS"]
