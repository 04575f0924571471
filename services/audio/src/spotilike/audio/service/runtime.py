"""What the audio service's use cases need besides a session."""

from __future__ import annotations

from dataclasses import dataclass

from spotilike.audio.models import messaging
from spotilike.audio.settings import AudioSettings
from spotilike.kit.db import Database
from spotilike.kit.events import Outbox
from spotilike.kit.storage import ObjectStorage, storage_from_url

__all__ = ["Runtime", "build_runtime", "storage_for"]


@dataclass(frozen=True)
class Runtime:
    settings: AudioSettings
    database: Database
    outbox: Outbox
    storage: ObjectStorage


def storage_for(settings: AudioSettings) -> ObjectStorage:
    secret = settings.storage_secret_key
    return storage_from_url(
        settings.storage_url,
        access_key=settings.storage_access_key,
        secret_key=secret.get_secret_value() if secret else None,
    )


def build_runtime(
    settings: AudioSettings, *, database: Database, topic_prefix: str = ""
) -> Runtime:
    return Runtime(
        settings=settings,
        database=database,
        outbox=Outbox(messaging, source="/audio", topic_prefix=topic_prefix),
        storage=storage_for(settings),
    )
