"""``spotilike notifications …``: operator commands of the notification service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spotilike.kit.migrations import upgrade
from spotilike.kit.server import serve as serve_app
from spotilike.notifications.settings import NotificationsSettings

__all__ = ["app"]

app = typer.Typer(help="The notifications service.", no_args_is_help=True)


@app.callback()
def notifications() -> None:
    """Operator commands of the notification service (settings from SPOTILIKE_NOTIFICATIONS_*)."""


@app.command()
def serve(
    migrate: Annotated[bool, typer.Option(help="upgrade the database before serving")] = True,
) -> None:
    """Run the API, the event consumer and the delivery worker (port 8105 by default)."""
    settings = NotificationsSettings()
    if migrate:
        upgrade(Path(__file__).parents[3] / "migrations", settings.database_url)
    serve_app("spotilike.notifications.app:create_notifications_app", settings)
