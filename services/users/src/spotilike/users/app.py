"""The users service's composition root.

Run it with ``uvicorn --factory spotilike.users.app:create_users_app``.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from spotilike.kit.app import BackgroundWorker, ServiceResources, create_app
from spotilike.kit.auth import JwksCache, TokenVerifier
from spotilike.kit.events import OutboxPublisher
from spotilike.users.api import ROUTERS
from spotilike.users.consumers import StripeCustomerConsumer
from spotilike.users.models import messaging
from spotilike.users.service.runtime import build_runtime
from spotilike.users.settings import UsersSettings
from spotilike.users.stripe_customers import StripeCustomers

__all__ = ["create_users_app"]


def create_users_app(
    settings: UsersSettings | None = None,
    *,
    topic_prefix: str = "",
    run_workers: bool = True,
) -> FastAPI:
    """``topic_prefix`` and ``run_workers`` exist for tests that share one broker."""
    settings = settings or UsersSettings()

    def workers(resources: ServiceResources) -> Sequence[BackgroundWorker]:
        if not run_workers or resources.database is None:
            return []
        return [
            OutboxPublisher.for_service(resources.database, messaging, settings),
            StripeCustomerConsumer(
                database=resources.database,
                bootstrap_servers=settings.kafka_bootstrap_servers,
                stripe=StripeCustomers.from_settings(settings),
                topic_prefix=topic_prefix,
            ),
        ]

    app = create_app(
        settings,
        title="Spotilike users",
        routers=ROUTERS,
        workers=workers,
        # Sign-up and sign-in bodies are small; nothing here needs the kit's 1 MiB.
        max_body_bytes=64 * 1024,
    )
    resources: ServiceResources = app.state.resources
    assert resources.database is not None
    assert resources.redis is not None
    runtime = build_runtime(
        settings, database=resources.database, redis=resources.redis, topic_prefix=topic_prefix
    )
    app.state.runtime = runtime
    app.state.shutdown_hooks.append(runtime.oauth.aclose)
    # The service verifies its own tokens against its own key ring: no HTTP to itself.
    app.state.token_verifier = TokenVerifier(
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        keys=JwksCache(runtime.keys.jwks),
        denylist=runtime.denylist,
    )
    return app
