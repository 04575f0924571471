"""Settings of the users service (environment prefix ``SPOTILIKE_USERS_``)."""

from __future__ import annotations

import os
from typing import ClassVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from spotilike.kit.settings import ServiceSettings

__all__ = ["OWASP_ARGON2_MINIMUM", "UsersSettings"]

OWASP_ARGON2_MINIMUM = {"memory_kib": 19_456, "time_cost": 2, "parallelism": 1}
"""The weakest Argon2id configuration the OWASP Password Storage Cheat Sheet accepts."""


class UsersSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SPOTILIKE_USERS_", extra="ignore", frozen=True)

    secret_fields: ClassVar[tuple[str, ...]] = (
        "signing_key_passphrase",
        "form_token_secret",
        "stripe_api_key",
    )

    service_name: str = "users"
    port: int = Field(default=8101, ge=1, le=65535)
    database_url: str = "postgresql+asyncpg://spotilike@127.0.0.1:55432/users"
    database_replica_url: str | None = "postgresql+asyncpg://spotilike@127.0.0.1:55433/users"

    access_token_ttl_seconds: int = Field(default=900, ge=30, le=900)
    """At most 15 minutes: a stolen access token is only as good as its remaining life."""
    refresh_token_ttl_days: int = Field(default=30, ge=1, le=365)
    signing_key_passphrase: SecretStr = SecretStr("dev-only-signing-key-passphrase")
    """Encrypts the RSA private keys at rest in the database."""
    retired_key_published_seconds: int = Field(default=3600, ge=60)
    """How long a key stays in the JWKS after rotation: past the life of what it signed."""

    argon2_memory_kib: int = Field(default=19_456, ge=OWASP_ARGON2_MINIMUM["memory_kib"])
    argon2_time_cost: int = Field(default=2, ge=OWASP_ARGON2_MINIMUM["time_cost"])
    argon2_parallelism: int = Field(default=1, ge=OWASP_ARGON2_MINIMUM["parallelism"], le=8)
    hashing_concurrency: int = Field(
        default_factory=lambda: max(1, (os.cpu_count() or 2) - 1), ge=1, le=64
    )
    """Password hashes computed at once; more wait, so logins cannot starve other requests.

    One core fewer than the machine has: on 2 cores a cap of 2 let logins slow a cheap
    endpoint's p99 by 14-17x, a cap of 1 by about 5x, at the same login throughput
    (docs/benchmarks.md)."""

    login_failures_per_account: int = Field(default=5, ge=1)
    login_failures_per_ip: int = Field(default=30, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)
    lockout_seconds: int = Field(default=900, ge=1)

    password_reset_ttl_seconds: int = Field(default=1800, ge=60, le=1800)
    password_resets_per_email_per_hour: int = Field(default=3, ge=1)
    password_resets_per_ip_per_hour: int = Field(default=20, ge=1)
    email_verification_ttl_seconds: int = Field(default=86_400, ge=600)
    web_url: str = "http://localhost:8080"
    """Origin of the web player: the only host reset and verification links ever point at."""

    oauth_redirect_base_url: str = "http://localhost:8080/api/users"
    """Where providers send the browser back: ``<base>/auth/oauth/<provider>/callback``."""
    google_client_id: str = "spotilike-dev"
    google_client_secret: SecretStr = SecretStr("dev-only-google-secret")
    google_metadata_url: str = "https://accounts.google.com/.well-known/openid-configuration"
    github_client_id: str = "spotilike-dev"
    github_client_secret: SecretStr = SecretStr("dev-only-github-secret")
    github_authorize_url: str = "https://github.com/login/oauth/authorize"
    github_token_url: str = "https://github.com/login/oauth/access_token"  # noqa: S105 - a URL
    github_api_url: str = "https://api.github.com"
    oauth_state_ttl_seconds: int = Field(default=600, ge=60, le=3600)
    oauth_provider_timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    """Bound on each call to Google or GitHub, so a slow provider cannot pin a request."""

    stripe_api_key: SecretStr = SecretStr("dev-only-sk_test_spotilike")
    stripe_api_base: str | None = None
    """None talks to Stripe itself; tests and the local stack point it at localstripe."""

    form_token_secret: SecretStr = SecretStr("dev-only-form-token-secret")
    risk_ip_registrations_per_hour: int = Field(default=5, ge=1)
    risk_fingerprint_registrations_per_hour: int = Field(default=3, ge=1)
    risk_domain_registrations_per_hour: int = Field(default=50, ge=1)
    risk_ip_logins_per_minute: int = Field(default=30, ge=1)
    risk_min_form_fill_seconds: float = Field(default=2.0, ge=0)
    risk_challenge_score: int = Field(default=40, ge=1)
    risk_block_score: int = Field(default=80, ge=1)

    @model_validator(mode="after")
    def _oauth_secrets_outside_dev(self) -> UsersSettings:
        # OAuth is optional in production, so its secrets are checked only when its
        # client is configured away from the development placeholder.
        if self.is_development:
            return self
        for provider in ("google", "github"):
            client_id = getattr(self, f"{provider}_client_id")
            secret: SecretStr = getattr(self, f"{provider}_client_secret")
            if client_id != "spotilike-dev" and secret.get_secret_value().startswith("dev-only-"):
                raise ValueError(
                    f"SPOTILIKE_USERS_{provider.upper()}_CLIENT_SECRET still has its "
                    "development value while a real client id is set"
                )
        return self
