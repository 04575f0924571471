"""``spotilike audio …``: operator commands of the audio service."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from spotilike.audio.settings import AudioSettings
from spotilike.kit.migrations import upgrade
from spotilike.kit.server import serve as serve_app

__all__ = ["app"]

app = typer.Typer(help="The audio service.", no_args_is_help=True)


@app.callback()
def audio() -> None:
    """Operator commands of the audio service (settings from SPOTILIKE_AUDIO_*)."""


@app.command()
def serve(
    migrate: Annotated[bool, typer.Option(help="upgrade the database before serving")] = True,
) -> None:
    """Run the audio service's API (host, port and the rest from SPOTILIKE_AUDIO_*)."""
    settings = AudioSettings()
    if migrate:
        upgrade(Path(__file__).parents[3] / "migrations", settings.database_url)
    serve_app("spotilike.audio.app:create_audio_app", settings)


@app.command()
def worker(
    beat: Annotated[bool, typer.Option(help="also run the hourly cleanup schedule")] = False,
) -> None:
    """Run a Celery worker for the processing queue (concurrency from the settings)."""
    settings = AudioSettings()
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "spotilike.audio.tasks",
        "worker",
        "-Q",
        settings.celery_queue,
        "--concurrency",
        str(settings.worker_concurrency),
        "-l",
        settings.log_level,
    ]
    if beat:
        # The schedule's state file lives with the worker's other files, not in the cwd.
        settings.work_dir.mkdir(parents=True, exist_ok=True)
        command += ["--beat", "--schedule", str(settings.work_dir / "celerybeat-schedule")]
    raise typer.Exit(subprocess.call(command))  # noqa: S603 - our own interpreter and module
