"""The users service's HTTP API: thin routers over the use cases in ``service``."""

from spotilike.users.api.admin import router as admin_router
from spotilike.users.api.auth import router as auth_router
from spotilike.users.api.jwks import router as jwks_router
from spotilike.users.api.me import router as me_router
from spotilike.users.api.oauth import router as oauth_router

ROUTERS = (jwks_router, auth_router, oauth_router, me_router, admin_router)

__all__ = ["ROUTERS"]
