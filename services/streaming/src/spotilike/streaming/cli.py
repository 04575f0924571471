"""``spotilike streaming …``: operator commands of the streaming service."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

import typer

from spotilike.kit.migrations import upgrade
from spotilike.kit.server import serve as serve_app
from spotilike.streaming.settings import StreamingSettings

__all__ = ["app"]

app = typer.Typer(help="The streaming service.", no_args_is_help=True)


@app.callback()
def streaming() -> None:
    """Operator commands of the streaming service (settings from SPOTILIKE_STREAMING_*)."""


@app.command()
def serve(
    migrate: Annotated[bool, typer.Option(help="upgrade the database before serving")] = True,
) -> None:
    """Run the streaming service (host, port and the rest from SPOTILIKE_STREAMING_*)."""
    settings = StreamingSettings()
    if migrate:
        upgrade(Path(__file__).parents[3] / "migrations", settings.database_url)
    serve_app("spotilike.streaming.app:create_streaming_app", settings)


@app.command("new-playback-key")
def new_playback_key(
    kid: Annotated[str, typer.Argument(help="the key id, 1-16 of A-Z a-z 0-9 _ -")],
) -> None:
    """Print a fresh playback signing key as a JSON member for SPOTILIKE_STREAMING_PLAYBACK_KEYS."""
    typer.echo(f'"{kid}": "{secrets.token_urlsafe(48)}"')
