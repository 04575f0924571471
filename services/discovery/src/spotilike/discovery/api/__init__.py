"""The discovery service's HTTP routers."""

from spotilike.discovery.api.eureka import router

ROUTERS = (router,)

__all__ = ["ROUTERS"]
