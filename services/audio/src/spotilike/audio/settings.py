"""Settings of the audio service (environment prefix ``SPOTILIKE_AUDIO_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from spotilike.kit.settings import ServiceSettings

__all__ = ["AudioSettings"]


def _local(*parts: str) -> Path:
    return Path.cwd().joinpath(*parts)


class AudioSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SPOTILIKE_AUDIO_", extra="ignore", frozen=True)

    service_name: str = "audio"
    port: int = Field(default=8103, ge=1, le=65535)
    database_url: str = "postgresql+asyncpg://spotilike@127.0.0.1:55432/audio"
    database_replica_url: str | None = "postgresql+asyncpg://spotilike@127.0.0.1:55433/audio"

    storage_url: str = Field(default_factory=lambda: _local(".spotilike", "storage").as_uri())
    """``file:///<folder>`` or ``s3://<bucket>?endpoint=<url>`` (R2, S3, MinIO); the local
    default is the stack's storage folder in the checkout."""
    storage_access_key: str | None = None
    storage_secret_key: SecretStr | None = None
    work_dir: Path = Field(default_factory=lambda: _local(".spotilike", "work"))
    """Where workers fetch originals and write renditions; shared (NFS) across workers."""
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    max_duration_seconds: float = Field(default=1200.0, gt=0)
    upload_url_seconds: int = Field(default=900, ge=60, le=7 * 86_400)
    upload_base_url: str | None = None
    """Where clients send an upload's bytes on filesystem storage; by default the gateway's
    audio route, ``<public_url>/audio``. Set it when clients reach this service directly."""

    celery_broker_url: str = "redis://127.0.0.1:56379/1"
    celery_queue: str = Field(default="audio", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    worker_concurrency: int = Field(default=2, ge=1, le=64)
    task_soft_time_limit_seconds: int = Field(default=600, ge=5)
    task_time_limit_seconds: int = Field(default=660, ge=10)
    visibility_timeout_seconds: int = Field(default=900, ge=15)
    """How long the broker waits before handing an unacknowledged task to another worker."""
    ffmpeg_timeout_seconds: float = Field(default=540.0, gt=0)
    task_max_retries: int = Field(default=3, ge=0, le=10)
    stale_queued_seconds: int = Field(default=300, ge=10)
    """A job queued this long without a worker taking it is enqueued again by the sweeper."""
    cleanup_after_seconds: int = Field(default=6 * 3600, ge=60)

    @property
    def upload_base(self) -> str:
        return (self.upload_base_url or self.public_url.rstrip("/") + "/audio").rstrip("/")

    @model_validator(mode="after")
    def _limits_nest(self) -> AudioSettings:
        if not self.task_soft_time_limit_seconds < self.task_time_limit_seconds:
            raise ValueError(
                "SPOTILIKE_AUDIO_TASK_SOFT_TIME_LIMIT_SECONDS must be below the hard limit"
            )
        if not self.task_time_limit_seconds < self.visibility_timeout_seconds:
            raise ValueError(
                "SPOTILIKE_AUDIO_VISIBILITY_TIMEOUT_SECONDS must exceed the task's hard time limit,"
                " or the broker hands a running task to a second worker"
            )
        if not self.ffmpeg_timeout_seconds < self.task_soft_time_limit_seconds:
            raise ValueError(
                "SPOTILIKE_AUDIO_FFMPEG_TIMEOUT_SECONDS must be below the soft time limit"
            )
        return self
