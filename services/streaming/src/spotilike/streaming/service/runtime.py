"""What the streaming service's use cases need besides a session: one composition."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from spotilike.kit.db import Database
from spotilike.kit.events import Outbox
from spotilike.kit.ratelimit import RateLimiter
from spotilike.kit.storage import storage_from_url
from spotilike.streaming.models import messaging
from spotilike.streaming.service.media import MediaReader
from spotilike.streaming.service.rights import RightsCache
from spotilike.streaming.settings import StreamingSettings

__all__ = ["Runtime", "build_runtime"]


@dataclass(frozen=True)
class Runtime:
    settings: StreamingSettings
    database: Database
    outbox: Outbox
    rights: RightsCache
    media: MediaReader
    limiter: RateLimiter

    async def aclose(self) -> None:
        await self.media.aclose()
        await self.limiter.aclose()


def build_runtime(
    settings: StreamingSettings, *, database: Database, redis: Redis, topic_prefix: str = ""
) -> Runtime:
    secret = settings.storage_secret_key
    storage = storage_from_url(
        settings.storage_url,
        access_key=settings.storage_access_key,
        secret_key=secret.get_secret_value() if secret else None,
    )
    return Runtime(
        settings=settings,
        database=database,
        outbox=Outbox(messaging, source="/streaming", topic_prefix=topic_prefix),
        rights=RightsCache(database, ttl_seconds=settings.rights_cache_seconds),
        media=MediaReader(
            storage,
            redis,
            presign_seconds=settings.presign_seconds,
            cache_seconds=settings.presign_cache_seconds,
            namespace=f"{topic_prefix}streaming",
        ),
        limiter=RateLimiter(settings.redis_url, namespace=f"{topic_prefix}streaming"),
    )
