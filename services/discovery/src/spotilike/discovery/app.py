"""The discovery service's composition root."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from spotilike.discovery.api import ROUTERS
from spotilike.discovery.repository import LeaseStore
from spotilike.discovery.service import Evictor, Registry
from spotilike.discovery.settings import DiscoverySettings
from spotilike.kit.app import BackgroundWorker, ServiceResources, create_app

__all__ = ["create_discovery_app"]

MAX_REGISTRATION_BYTES = 64 * 1024
"""A registration is a few kilobytes; anything near this is not a Eureka client."""


def create_discovery_app(settings: DiscoverySettings | None = None) -> FastAPI:
    settings = settings or DiscoverySettings()
    registry: Registry | None = None

    def workers(resources: ServiceResources) -> Sequence[BackgroundWorker]:
        assert registry is not None
        return [Evictor(registry, interval_seconds=settings.eviction_interval_seconds)]

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
    return app
