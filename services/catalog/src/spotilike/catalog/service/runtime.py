"""What the catalog's use cases need besides the session, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from spotilike.catalog.models import messaging
from spotilike.catalog.settings import CatalogSettings
from spotilike.kit.cache import PageCache
from spotilike.kit.db import Database
from spotilike.kit.events import Outbox

__all__ = ["Runtime", "build_runtime"]


@dataclass(frozen=True)
class Runtime:
    settings: CatalogSettings
    database: Database
    redis: Redis
    outbox: Outbox
    pages: PageCache
    """Album and artist pages as anonymous listeners see them."""


def build_runtime(
    settings: CatalogSettings, *, database: Database, redis: Redis, topic_prefix: str = ""
) -> Runtime:
    return Runtime(
        settings=settings,
        database=database,
        redis=redis,
        outbox=Outbox(messaging, source="/catalog", topic_prefix=topic_prefix),
        pages=PageCache(
            redis, namespace=topic_prefix + "catalog-pages", ttl_seconds=settings.page_cache_seconds
        ),
    )
