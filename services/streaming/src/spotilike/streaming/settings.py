"""Settings of the streaming service (environment prefix ``SPOTILIKE_STREAMING_``)."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from spotilike.kit.ratelimit import RateLimitRule
from spotilike.kit.settings import ServiceSettings
from spotilike.streaming.playback_tokens import MAX_TTL_SECONDS, PlaybackKeys

__all__ = ["StreamingSettings"]

_DEV_KEYS = json.dumps({"dev1": "dev-only-playback-key-0123456789abcdef"})


class StreamingSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SPOTILIKE_STREAMING_", extra="ignore", frozen=True
    )

    secret_fields: ClassVar[tuple[str, ...]] = ("playback_keys",)

    service_name: str = "streaming"
    port: int = Field(default=8104, ge=1, le=65535)
    database_url: str = "postgresql+asyncpg://spotilike@127.0.0.1:55432/streaming"
    database_replica_url: str | None = "postgresql+asyncpg://spotilike@127.0.0.1:55433/streaming"

    storage_url: str = Field(
        default_factory=lambda: Path.cwd().joinpath(".spotilike", "storage").as_uri()
    )
    """The audio service's renditions: ``file:///<folder>`` or ``s3://<bucket>?endpoint=``."""
    storage_access_key: str | None = None
    storage_secret_key: SecretStr | None = None
    presign_seconds: int = Field(default=300, ge=30, le=3600)
    """Lifetime of the presigned GET URLs the service reads S3/R2 objects through."""
    presign_cache_seconds: int = Field(default=240, ge=1)
    """How long a presigned URL is reused from Valkey; must end before the URL does."""

    playback_keys: SecretStr = SecretStr(_DEV_KEYS)
    """JSON object ``{"<kid>": "<secret of >= 32 bytes>", ...}``; every key verifies."""
    playback_key_current: str = "dev1"
    """The key id that signs new tokens (rotation: add a key, make it current, drop the old
    one after the token lifetime)."""
    token_ttl_seconds: int = Field(default=MAX_TTL_SECONDS, ge=10, le=MAX_TTL_SECONDS)

    rate_limit: str = "50/second"
    """Requests per user to every streaming route, counted across all instances."""
    rights_cache_seconds: float = Field(default=0.5, ge=0, le=1.0)
    """How long one instance reuses a rights decision; kept under a second so an
    unpublished track stops playing within a second of its event."""

    play_count_ms: int = Field(default=30_000, ge=1_000)
    """Listening time from which a play counts (Spotify's 30 seconds)."""
    counted_plays_per_day: int = Field(default=20, ge=1)
    """Counted plays of one track by one user per day; beyond it plays are flagged and do
    not count (hammering one track to inflate it)."""
    session_events_limit: int = Field(default=600, ge=10)
    """Events one play session may send; progress beyond it is refused (429)."""
    session_idle_seconds: int = Field(default=1800, ge=60, le=86_400)
    """A play session silent this long is ended by the sweep, as if its last report had
    been ``ended``: a closed laptop or a crashed tab still counts what was listened.
    The player reports every 10 s while playing, so only a long pause gets here."""
    session_sweep_seconds: float = Field(default=60, gt=0, le=3600)
    """How often each instance looks for idle play sessions."""

    @cached_property
    def keys(self) -> PlaybackKeys:
        raw = json.loads(self.playback_keys.get_secret_value())
        return PlaybackKeys(
            {kid: secret.encode() for kid, secret in raw.items()},
            current=self.playback_key_current,
        )

    @cached_property
    def rate_limit_rule(self) -> RateLimitRule:
        return RateLimitRule.parse("streaming-user", self.rate_limit)

    @model_validator(mode="after")
    def _consistent(self) -> StreamingSettings:
        try:
            raw = json.loads(self.playback_keys.get_secret_value())
        except json.JSONDecodeError as exc:
            raise ValueError(
                "SPOTILIKE_STREAMING_PLAYBACK_KEYS must be a JSON object of key id to secret"
            ) from exc
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            raise ValueError(
                "SPOTILIKE_STREAMING_PLAYBACK_KEYS must be a JSON object of key id to secret"
            )
        # Builds the keys once so a short secret or unknown current kid fails at start-up.
        PlaybackKeys(
            {kid: secret.encode() for kid, secret in raw.items()},
            current=self.playback_key_current,
        )
        RateLimitRule.parse("streaming-user", self.rate_limit)
        if not self.presign_cache_seconds < self.presign_seconds:
            raise ValueError(
                "SPOTILIKE_STREAMING_PRESIGN_CACHE_SECONDS must be below PRESIGN_SECONDS, or a "
                "cached URL outlives itself"
            )
        return self
