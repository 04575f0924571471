"""Settings of the discovery service (environment prefix ``SPOTILIKE_DISCOVERY_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from spotilike.kit.settings import ServiceSettings

__all__ = ["DiscoverySettings"]


class DiscoverySettings(ServiceSettings):
    """The registry keeps no database; ``database_url`` and its replica go unused."""

    model_config = SettingsConfigDict(
        env_prefix="SPOTILIKE_DISCOVERY_", extra="ignore", frozen=True
    )
    secret_fields = ("write_password",)

    service_name: str = "discovery"
    port: int = Field(default=8761, ge=1, le=65535)

    key_prefix: str = Field(default="{discovery}", pattern=r"^[A-Za-z0-9{}_.:-]{1,64}$")
    """Prefix of every Valkey key. The braces are a cluster hash tag: the registry's scripts
    touch all of its keys at once, so they must live in one slot."""

    default_lease_seconds: int = Field(default=90, ge=1, le=3600)
    """The lease of a registrant that sends no ``leaseInfo.durationInSecs`` (Eureka's 90)."""
    min_lease_seconds: int = Field(default=1, ge=1, le=3600)
    max_lease_seconds: int = Field(default=300, ge=1, le=86_400)
    """Longer leases asked for are cut to this: a dead instance must not linger for hours."""
    eviction_interval_seconds: float = Field(default=5.0, gt=0, le=300)
    """How often expired leases are noticed and written into the delta as DELETED."""
    delta_retention_seconds: int = Field(default=180, ge=1, le=3600)
    """How long a change stays in ``GET /eureka/apps/delta`` (Eureka's 3 minutes)."""

    write_username: str = Field(default="eureka", pattern=r"^[A-Za-z0-9._-]{1,64}$")
    write_password: SecretStr | None = None
    """Basic-auth password for register, renew, cancel and status calls; None leaves them
    open, which only development allows (Eureka itself has no auth)."""
    read_requires_auth: bool = False
    """Ask the same credentials on the GET endpoints too."""

    @model_validator(mode="after")
    def _leases_nest(self) -> DiscoverySettings:
        if not self.min_lease_seconds <= self.default_lease_seconds <= self.max_lease_seconds:
            raise ValueError(
                "SPOTILIKE_DISCOVERY_DEFAULT_LEASE_SECONDS must lie between the minimum and"
                " the maximum lease"
            )
        return self
