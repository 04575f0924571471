"""The settings every Spotilike service shares, read from the environment.

Each service subclasses :class:`ServiceSettings` with its own prefix
(``SPOTILIKE_<SERVICE>_``) and adds its own fields. Defaults point at the local stack, so a
developer needs no configuration at all; outside ``SPOTILIKE_ENV=dev``/``test`` the same
defaults would be a hole, so the settings refuse to load while any secret is missing or
still carries its published development value.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEV_SECRET_PREFIX", "Environment", "ServiceSettings"]

DEV_SECRET_PREFIX = "dev-only-"  # noqa: S105 - the marker of fake secrets, not a secret
"""Every development default of a secret starts with this, so it can be recognised."""


class Environment(StrEnum):
    DEV = "dev"
    TEST = "test"
    STAGING = "staging"
    PRODUCTION = "production"


class ServiceSettings(BaseSettings):
    """Shared settings. ``service_name`` is set by each subclass as a class default."""

    model_config = SettingsConfigDict(
        env_prefix="SPOTILIKE_", env_file=None, extra="ignore", frozen=True
    )

    secret_fields: ClassVar[tuple[str, ...]] = ()
    """Names of fields whose values are secrets: checked at start-up, never logged."""

    service_name: str = "spotilike"
    env: Environment = Field(default=Environment.DEV, validation_alias="SPOTILIKE_ENV")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str = "http://localhost:8080"
    """Where clients reach the platform (the gateway); links in emails are built from it."""

    database_url: str = "postgresql+asyncpg://spotilike@127.0.0.1:55432/spotilike"
    database_replica_url: str | None = "postgresql+asyncpg://spotilike@127.0.0.1:55433/spotilike"
    """None sends every read to the primary (a single-node database)."""
    read_your_writes_seconds: float = Field(default=5.0, ge=0, le=300)
    """After a caller writes, their reads go to the primary this long: longer than replica lag."""
    database_pool_size: int = Field(default=10, ge=1, le=200)

    redis_url: str = "redis://127.0.0.1:56379/0"
    redis_pool_size: int = Field(default=64, ge=1, le=1000)
    """Valkey connections per process; a call finding them all busy waits for one (up to
    the 2 s call timeout) instead of failing."""
    kafka_bootstrap_servers: str = "127.0.0.1:59092"
    jwks_url: str = "http://127.0.0.1:8101/.well-known/jwks.json"
    jwt_issuer: str = "https://spotilike.dev/users"
    jwt_audience: str = "spotilike"

    forwarded_allow_ips: str = "127.0.0.1"
    """Peers whose X-Forwarded-For is believed (the gateway); anyone else's is ignored."""

    discovery_url: str | None = None
    """The registry's Eureka URL (``http://127.0.0.1:8761/eureka``) to register with; None
    turns registration off (Kubernetes mode, where services find each other by DNS name)."""
    discovery_instance_host: str | None = None
    """The host others reach this instance at; None means ``host`` (127.0.0.1 for a wildcard)."""
    discovery_instance_port: int | None = Field(default=None, ge=1, le=65535)
    """The port others reach this instance at; None means ``port``."""
    discovery_instance_id: str | None = None
    """None means ``host:service:port``."""
    discovery_app_name: str | None = None
    """The Eureka app name (upper-cased by the registry); None means ``service_name``."""
    discovery_renew_seconds: float = Field(default=30.0, gt=0, le=300)
    discovery_lease_seconds: int = Field(default=90, ge=1, le=3600)
    """How long the registry keeps the instance without a renewal; above the interval."""

    log_level: str = "INFO"
    access_log: bool = True
    """One line per request from uvicorn (paths only, never query strings); about a
    millisecond of CPU per request, so a hot path may turn it off."""
    log_json: bool = True

    @property
    def is_development(self) -> bool:
        return self.env in (Environment.DEV, Environment.TEST)

    @model_validator(mode="after")
    def _refuse_insecure_defaults(self) -> ServiceSettings:
        if self.is_development:
            return self
        problems = []
        for name in self.secret_fields:
            value: Any = getattr(self, name)
            raw = value.get_secret_value() if isinstance(value, SecretStr) else value
            env_name = f"{self.model_config.get('env_prefix', '')}{name}".upper()
            if not raw:
                problems.append(f"{env_name} is not set")
            # Anywhere, not only at the start: a JSON key set may hide a development key.
            elif DEV_SECRET_PREFIX in str(raw):
                problems.append(f"{env_name} still has its development value")
        if problems:
            raise ValueError(
                f"refusing to start {self.service_name} with SPOTILIKE_ENV={self.env.value}: "
                + "; ".join(problems)
                + ". Set real secrets, or SPOTILIKE_ENV=dev for local work."
            )
        return self
