"""Email providers behind one port: SMTP by default, SendGrid and Amazon SES by setting."""

from __future__ import annotations

from spotilike.notifications.providers.port import (
    DeliveryError,
    EmailProvider,
    OutgoingEmail,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from spotilike.notifications.providers.sendgrid import SendGridProvider
from spotilike.notifications.providers.ses import SesProvider
from spotilike.notifications.providers.smtp import SmtpProvider
from spotilike.notifications.settings import NotificationsSettings, ProviderName

__all__ = [
    "DeliveryError",
    "EmailProvider",
    "OutgoingEmail",
    "PermanentDeliveryError",
    "SendGridProvider",
    "SesProvider",
    "SmtpProvider",
    "TransientDeliveryError",
    "provider_from_settings",
]


def provider_from_settings(settings: NotificationsSettings) -> EmailProvider:
    if settings.provider is ProviderName.SENDGRID:
        key = settings.sendgrid_api_key
        return SendGridProvider(
            api_url=settings.sendgrid_api_url,
            api_key=key.get_secret_value() if key is not None else "",
            timeout=settings.provider_timeout_seconds,
        )
    if settings.provider is ProviderName.SES:
        secret = settings.ses_secret_access_key
        return SesProvider(
            region=settings.ses_region,
            endpoint_url=settings.ses_endpoint_url,
            access_key_id=settings.ses_access_key_id,
            secret_access_key=secret.get_secret_value() if secret is not None else None,
            timeout=settings.provider_timeout_seconds,
        )
    return SmtpProvider(settings)
