"""The discovery service's composition root."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from spotilike.discovery.api import ROUTERS
from spotilike.discovery.repository import LeaseStore
from spotilike.discovery.service import Registry
from spotilike.discovery.settings import DiscoverySettings
from spotilike.kit.app import BackgroundWorker, ServiceResources, create_app
from spotilike.kit.periodic import PeriodicWorker

__all__ = ["create_discovery_app"]

MAX_REGISTRATION_BYTES = 64 * 1024
"""A registration is a few kilobytes; anything near this is not a Eureka client."""


class NetflixPrefix:
    """Serves ``/eureka/v2/...`` as ``/eureka/...``.

    Spring Cloud's registry answers at ``/eureka``, Netflix's eureka-server at
    ``/eureka/v2``, and a client is configured with one or the other, so both work. The
    path is rewritten before routing rather than the routes being declared twice, so the
    OpenAPI document and the metrics (by route template) show each operation once.
    """

    _PREFIX = "/eureka/v2/"
    _RAW_PREFIX = _PREFIX.encode()

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self._PREFIX):
            scope = dict(scope)
            scope["path"] = "/eureka/" + scope["path"][len(self._PREFIX) :]
            raw_path: bytes | None = scope.get("raw_path")
            if raw_path is not None and raw_path.startswith(self._RAW_PREFIX):
                scope["raw_path"] = b"/eureka/" + raw_path[len(self._RAW_PREFIX) :]
        await self.app(scope, receive, send)


def create_discovery_app(settings: DiscoverySettings | None = None) -> FastAPI:
    settings = settings or DiscoverySettings()
    registry: Registry | None = None

    def workers(resources: ServiceResources) -> Sequence[BackgroundWorker]:
        assert registry is not None
        # Expiry itself is Valkey's key TTL; the timer only records the deletions into the
        # delta when nobody reads, so every registry instance may run one, without a lock.
        return [
            PeriodicWorker(
                "eviction",
                registry.evict_expired,
                interval_seconds=settings.eviction_interval_seconds,
            )
        ]

    app = create_app(
        settings,
        title="Spotilike discovery",
        routers=ROUTERS,
        use_database=False,
        workers=workers,
        max_body_bytes=MAX_REGISTRATION_BYTES,
    )
    resources: ServiceResources = app.state.resources
    assert resources.redis is not None
    store = LeaseStore(
        resources.redis,
        key_prefix=settings.key_prefix,
        delta_retention_seconds=settings.delta_retention_seconds,
    )
    registry = Registry(
        store,
        default_lease_seconds=settings.default_lease_seconds,
        min_lease_seconds=settings.min_lease_seconds,
        max_lease_seconds=settings.max_lease_seconds,
    )
    app.state.registry = registry
    app.add_middleware(NetflixPrefix)
    return app
