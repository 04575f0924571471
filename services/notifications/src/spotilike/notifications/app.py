"""The notification service's composition root."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from spotilike.kit.app import BackgroundWorker, ServiceResources, create_app
from spotilike.kit.auth import TokenVerifier, verifier_from_settings
from spotilike.kit.events import OutboxPublisher
from spotilike.notifications.api import ROUTERS
from spotilike.notifications.consumers import email_consumer
from spotilike.notifications.models import messaging
from spotilike.notifications.providers import EmailProvider, provider_from_settings
from spotilike.notifications.service.delivery import DeliveryWorker
from spotilike.notifications.service.runtime import build_runtime
from spotilike.notifications.settings import NotificationsSettings

__all__ = ["create_notifications_app"]


def create_notifications_app(
    settings: NotificationsSettings | None = None,
    *,
    topic_prefix: str = "",
    run_workers: bool = True,
    token_verifier: TokenVerifier | None = None,
    provider: EmailProvider | None = None,
) -> FastAPI:
    """``provider`` replaces the one the settings choose (tests hand in their own)."""
    settings = settings or NotificationsSettings()

    def workers(resources: ServiceResources) -> Sequence[BackgroundWorker]:
        if not run_workers or resources.database is None:
            return []
        return [
            OutboxPublisher.for_service(resources.database, messaging, settings),
            email_consumer(
                runtime,
                bootstrap_servers=settings.kafka_bootstrap_servers,
                topic_prefix=topic_prefix,
            ),
            DeliveryWorker(runtime),
        ]

    app = create_app(settings, title="Spotilike notifications", routers=ROUTERS, workers=workers)
    resources: ServiceResources = app.state.resources
    assert resources.database is not None
    assert resources.redis is not None
    runtime = build_runtime(
        settings,
        database=resources.database,
        provider=provider or provider_from_settings(settings),
        topic_prefix=topic_prefix,
    )
    app.state.runtime = runtime
    app.state.token_verifier = token_verifier or verifier_from_settings(settings, resources.redis)
    return app
