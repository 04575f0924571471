"""What the notification service's use cases need besides a session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from spotilike.kit.db import Database
from spotilike.kit.events import Outbox
from spotilike.notifications.models import messaging
from spotilike.notifications.providers import EmailProvider
from spotilike.notifications.service.rendering import Renderer
from spotilike.notifications.service.tokens import UnsubscribeTokens
from spotilike.notifications.settings import NotificationsSettings

__all__ = ["Runtime", "build_runtime"]


@dataclass(frozen=True)
class Runtime:
    settings: NotificationsSettings
    database: Database
    outbox: Outbox
    renderer: Renderer
    provider: EmailProvider
    tokens: UnsubscribeTokens
    wake_delivery: list[Callable[[], None]] = field(default_factory=list)
    """Called after a commit that queued an email, so a worker sends it without waiting
    for its next poll."""

    def unsubscribe_url(self, token: str) -> str:
        return self.renderer.link(
            f"{self.settings.api_prefix}/notifications/unsubscribe?token={token}"
        )

    def nudge_delivery(self) -> None:
        for wake in self.wake_delivery:
            wake()


def build_runtime(
    settings: NotificationsSettings,
    *,
    database: Database,
    provider: EmailProvider,
    topic_prefix: str = "",
) -> Runtime:
    return Runtime(
        settings=settings,
        database=database,
        outbox=Outbox(messaging, source="/notifications", topic_prefix=topic_prefix),
        renderer=Renderer(public_url=settings.public_url),
        provider=provider,
        tokens=UnsubscribeTokens(settings.unsubscribe_secret.get_secret_value()),
    )
