"""The audio service's composition root (the HTTP side; the workers are in ``tasks``)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from fastapi import FastAPI

from spotilike.audio.api import ROUTERS
from spotilike.audio.consumers import pipeline_consumer, tracks_consumer
from spotilike.audio.models import messaging
from spotilike.audio.service.runtime import build_runtime
from spotilike.audio.settings import AudioSettings
from spotilike.audio.tasks import PROCESS_TASK, celery_app
from spotilike.kit.app import BackgroundWorker, ServiceResources, create_app
from spotilike.kit.auth import TokenVerifier, verifier_from_settings
from spotilike.kit.events import OutboxPublisher

__all__ = ["create_audio_app"]


def create_audio_app(
    settings: AudioSettings | None = None,
    *,
    topic_prefix: str = "",
    run_workers: bool = True,
    token_verifier: TokenVerifier | None = None,
) -> FastAPI:
    settings = settings or AudioSettings()
    celery = celery_app(settings)

    async def enqueue(upload_id: str) -> None:
        await asyncio.to_thread(celery.send_task, PROCESS_TASK, args=[upload_id])

    def workers(resources: ServiceResources) -> Sequence[BackgroundWorker]:
        if not run_workers or resources.database is None:
            return []
        return [
            OutboxPublisher.for_service(resources.database, messaging, settings),
            pipeline_consumer(
                database=resources.database,
                bootstrap_servers=settings.kafka_bootstrap_servers,
                enqueue=enqueue,
                topic_prefix=topic_prefix,
            ),
            tracks_consumer(
                database=resources.database,
                bootstrap_servers=settings.kafka_bootstrap_servers,
                topic_prefix=topic_prefix,
            ),
        ]

    app = create_app(
        settings,
        title="Spotilike audio",
        routers=ROUTERS,
        workers=workers,
        # The upload body is checked against its declared size before a byte is read.
        body_limits={"/uploads": settings.max_upload_bytes},
    )
    resources: ServiceResources = app.state.resources
    assert resources.database is not None
    assert resources.redis is not None
    runtime = build_runtime(settings, database=resources.database, topic_prefix=topic_prefix)
    app.state.runtime = runtime
    app.state.shutdown_hooks.append(runtime.storage.aclose)
    app.state.token_verifier = token_verifier or verifier_from_settings(settings, resources.redis)
    return app
