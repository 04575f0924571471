"""The streaming service's composition root."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from fastapi import FastAPI

from spotilike.kit.app import BackgroundWorker, ServiceResources, create_app
from spotilike.kit.auth import TokenVerifier, verifier_from_settings
from spotilike.kit.events import OutboxPublisher
from spotilike.kit.periodic import PeriodicWorker
from spotilike.streaming.api import ROUTERS
from spotilike.streaming.consumers import tracks_consumer, users_consumer
from spotilike.streaming.models import messaging
from spotilike.streaming.service.playback import end_idle_sessions
from spotilike.streaming.service.runtime import Runtime, build_runtime
from spotilike.streaming.settings import StreamingSettings

__all__ = ["create_streaming_app"]


def create_streaming_app(
    settings: StreamingSettings | None = None,
    *,
    topic_prefix: str = "",
    run_workers: bool = True,
    token_verifier: TokenVerifier | None = None,
) -> FastAPI:
    settings = settings or StreamingSettings()
    runtime: Runtime | None = None

    def workers(resources: ServiceResources) -> Sequence[BackgroundWorker]:
        if not run_workers or resources.database is None:
            return []
        assert runtime is not None
        sweep = functools.partial(end_idle_sessions, runtime)
        return [
            PeriodicWorker(
                "idle_play_sessions", sweep, interval_seconds=settings.session_sweep_seconds
            ),
            OutboxPublisher.for_service(resources.database, messaging, settings),
            tracks_consumer(
                database=resources.database,
                bootstrap_servers=settings.kafka_bootstrap_servers,
                topic_prefix=topic_prefix,
            ),
            users_consumer(
                database=resources.database,
                bootstrap_servers=settings.kafka_bootstrap_servers,
                topic_prefix=topic_prefix,
            ),
        ]

    app = create_app(
        settings,
        title="Spotilike streaming",
        routers=ROUTERS,
        workers=workers,
        # Playback reports are a few hundred bytes; nothing else here takes a body.
        max_body_bytes=16 * 1024,
    )
    resources: ServiceResources = app.state.resources
    assert resources.database is not None
    assert resources.redis is not None
    runtime = build_runtime(
        settings, database=resources.database, redis=resources.redis, topic_prefix=topic_prefix
    )
    app.state.runtime = runtime
    app.state.shutdown_hooks.append(runtime.aclose)
    app.state.token_verifier = token_verifier or verifier_from_settings(settings, resources.redis)
    return app
