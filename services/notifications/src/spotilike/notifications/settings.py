"""Settings of the notification service (environment prefix ``SPOTILIKE_NOTIFICATIONS_``)."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from spotilike.kit.settings import ServiceSettings

__all__ = ["NotificationsSettings", "ProviderName", "SmtpSecurity"]


class ProviderName(StrEnum):
    SMTP = "smtp"
    SENDGRID = "sendgrid"
    SES = "ses"


class SmtpSecurity(StrEnum):
    NONE = "none"
    """Plain SMTP: only for the local sink or a relay on the same host."""
    STARTTLS = "starttls"
    """Upgrade after connecting (usually port 587); refused if the server does not offer it."""
    TLS = "tls"
    """TLS from the first byte (implicit TLS, usually port 465)."""


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="SPOTILIKE_NOTIFICATIONS_", extra="ignore", frozen=True
    )

    secret_fields: ClassVar[tuple[str, ...]] = ("unsubscribe_secret",)

    service_name: str = "notifications"
    port: int = Field(default=8105, ge=1, le=65535)
    database_url: str = "postgresql+asyncpg://spotilike@127.0.0.1:55432/notifications"
    database_replica_url: str | None = (
        "postgresql+asyncpg://spotilike@127.0.0.1:55433/notifications"
    )

    api_prefix: str = Field(default="/api/notifications", pattern=r"^(/[A-Za-z0-9._-]+)*$")
    """Where the gateway exposes this service under ``public_url``: links back to the
    service (unsubscribe) are ``public_url + api_prefix + route``."""
    sender: str = "Spotilike <no-reply@spotilike.dev>"
    """The From header of every email."""
    unsubscribe_secret: SecretStr = SecretStr("dev-only-unsubscribe-secret")
    """Signs unsubscribe links (HMAC-SHA256); rotating it voids every link already sent."""

    provider: ProviderName = ProviderName.SMTP
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=51025, ge=1, le=65535)
    """The local stack's SMTP sink by default."""
    smtp_security: SmtpSecurity = SmtpSecurity.NONE
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_validate_certs: bool = True
    smtp_ca_file: str | None = None
    """A CA bundle to trust instead of the system's (a private relay's certificate)."""
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=300)

    sendgrid_api_url: str = "https://api.sendgrid.com"
    sendgrid_api_key: SecretStr | None = None
    ses_region: str = "us-east-1"
    ses_endpoint_url: str | None = None
    """None is AWS's own endpoint for the region; tests point it at moto."""
    ses_access_key_id: str | None = None
    ses_secret_access_key: SecretStr | None = None
    """Both None: the AWS SDK's own credential chain (instance role, environment)."""
    provider_timeout_seconds: float = Field(default=20.0, gt=0, le=300)

    max_attempts: int = Field(default=8, ge=1, le=50)
    permanent_failure_attempts: int = Field(default=1, ge=1, le=50)
    """Attempts a permanent (5xx) refusal gets before the email is dead. RFC 5321 says a
    5xx will be refused again, hence 1; raise it for a relay that answers 5xx for passing
    trouble (some do, for a full mailbox or a greylist)."""
    """Sends an email gets before it is dead (4xx refusals, timeouts, provider outages)."""
    retry_base_seconds: float = Field(default=30.0, gt=0)
    retry_max_seconds: float = Field(default=3600.0, gt=0)
    send_lease_seconds: float = Field(default=300.0, gt=0)
    """A claimed email whose worker vanished is claimed again after this long."""
    poll_seconds: float = Field(default=1.0, gt=0, le=60)
    delivery_batch: int = Field(default=20, ge=1, le=500)
    delivery_concurrency: int = Field(default=4, ge=1, le=64)

    @model_validator(mode="after")
    def _provider_is_configured(self) -> NotificationsSettings:
        if self.retry_max_seconds < self.retry_base_seconds:
            raise ValueError(
                "SPOTILIKE_NOTIFICATIONS_RETRY_MAX_SECONDS must be at least RETRY_BASE_SECONDS"
            )
        if self.is_development:
            return self
        if self.provider is ProviderName.SENDGRID and self.sendgrid_api_key is None:
            raise ValueError(
                "SPOTILIKE_NOTIFICATIONS_PROVIDER=sendgrid needs "
                "SPOTILIKE_NOTIFICATIONS_SENDGRID_API_KEY"
            )
        cleartext = self.smtp_security is SmtpSecurity.NONE
        if self.provider is ProviderName.SMTP and cleartext and self.smtp_password is not None:
            raise ValueError(
                "refusing to send SMTP credentials in clear: set "
                "SPOTILIKE_NOTIFICATIONS_SMTP_SECURITY to starttls or tls"
            )
        return self
