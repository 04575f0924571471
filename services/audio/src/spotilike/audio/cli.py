"""``spotilike audio …``: operator commands of the audio service."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(help="The audio service.", no_args_is_help=True)


@app.callback()
def audio() -> None:
    """Operator commands of the audio service (settings from SPOTILIKE_AUDIO_*)."""
