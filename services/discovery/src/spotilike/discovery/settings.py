"""Settings of the discovery service (environment prefix ``SPOTILIKE_DISCOVERY_``)."""

from __future__ import annotations

import json
import re
from functools import cached_property

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from spotilike.discovery.schemas import APP_NAME_PATTERN
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
    app_passwords: SecretStr | None = None
    """JSON object ``{"APP": "<password>"}``. Such an app may then write only its own
    registrations, as basic-auth user ``APP`` with its password (each service puts its
    own in its discovery URL), so one service's secret cannot re-register another's
    instances and take its traffic. The shared ``WRITE_*`` credentials stay the
    operator's and write for every app."""
    read_requires_auth: bool = False
    """Ask for credentials on the GET endpoints too (the shared ones or any app's own)."""

    @cached_property
    def app_password_map(self) -> dict[str, str]:
        """``APP_PASSWORDS`` by upper-case app name."""
        return _app_passwords(self.app_passwords)

    @model_validator(mode="after")
    def _app_passwords_readable(self) -> DiscoverySettings:
        # Read once at load so a bad value stops the service before it serves.
        _app_passwords(self.app_passwords)
        return self

    @model_validator(mode="after")
    def _leases_nest(self) -> DiscoverySettings:
        if not self.min_lease_seconds <= self.default_lease_seconds <= self.max_lease_seconds:
            raise ValueError(
                "SPOTILIKE_DISCOVERY_DEFAULT_LEASE_SECONDS must lie between the minimum and"
                " the maximum lease"
            )
        return self


def _app_passwords(secret: SecretStr | None) -> dict[str, str]:
    if secret is None:
        return {}
    try:
        raw = json.loads(secret.get_secret_value())
    except json.JSONDecodeError:
        raw = None
    if not isinstance(raw, dict) or not all(
        isinstance(app, str)
        and re.fullmatch(APP_NAME_PATTERN, app)
        and isinstance(password, str)
        and len(password) >= 16
        for app, password in raw.items()
    ):
        # The message names no value: they are secrets.
        raise ValueError(
            "SPOTILIKE_DISCOVERY_APP_PASSWORDS must be a JSON object of app names to "
            "passwords of at least 16 characters"
        )
    return {app.upper(): password for app, password in raw.items()}
