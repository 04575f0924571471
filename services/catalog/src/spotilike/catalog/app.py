"""The catalog service's composition root.

Run it with ``spotilike catalog serve`` (or ``uvicorn --factory
spotilike.catalog.app:create_catalog_app``).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from spotilike.catalog.api import ROUTERS
from spotilike.catalog.consumers import lifecycle_consumer, users_consumer
from spotilike.catalog.models import messaging
from spotilike.catalog.service.runtime import Runtime, build_runtime
from spotilike.catalog.settings import CatalogSettings
from spotilike.kit.app import BackgroundWorker, ServiceResources, create_app
from spotilike.kit.auth import TokenVerifier, verifier_from_settings
from spotilike.kit.events import OutboxPublisher

__all__ = ["create_catalog_app"]


def create_catalog_app(
    settings: CatalogSettings | None = None,
    *,
    topic_prefix: str = "",
    run_workers: bool = True,
    token_verifier: TokenVerifier | None = None,
) -> FastAPI:
    """``topic_prefix``, ``run_workers`` and ``token_verifier`` exist for tests."""
    settings = settings or CatalogSettings()
    runtimes: list[Runtime] = []

    def workers(resources: ServiceResources) -> Sequence[BackgroundWorker]:
        if not run_workers or resources.database is None:
            return []
        runtime = runtimes[0]
        return [
            OutboxPublisher.for_service(resources.database, messaging, settings),
            lifecycle_consumer(runtime, topic_prefix=topic_prefix),
            users_consumer(runtime, topic_prefix=topic_prefix),
        ]

    app = create_app(
        settings,
        title="Spotilike catalog",
        routers=ROUTERS,
        workers=workers,
        body_limits={"/catalog/import": settings.import_max_bytes},
    )
    resources: ServiceResources = app.state.resources
    assert resources.database is not None
    assert resources.redis is not None
    runtime = build_runtime(
        settings, database=resources.database, redis=resources.redis, topic_prefix=topic_prefix
    )
    runtimes.append(runtime)
    app.state.runtime = runtime
    app.state.token_verifier = token_verifier or verifier_from_settings(settings, resources.redis)
    return app
