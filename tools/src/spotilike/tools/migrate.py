"""``spotilike migrate <service>``: create the service's database if needed, upgrade it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from spotilike.kit.migrations import upgrade
from spotilike.tools.stack.config import StackConfig
from spotilike.tools.workspace import service_dir

__all__ = ["database_url_for", "migrate"]

_console = Console()


def database_url_for(service: str, config: StackConfig | None = None) -> str:
    """The service's own setting if it is set, else its database on the local stack."""
    explicit = os.environ.get(f"SPOTILIKE_{service.upper()}_DATABASE_URL")
    if explicit:
        return explicit
    stack = config or StackConfig.from_env()
    return f"postgresql+asyncpg://{stack.pg_user}@{stack.host}:{stack.pg_port}/{service}"


def migrate(
    service: Annotated[str, typer.Argument(help="service name, e.g. catalog")],
    revision: Annotated[str, typer.Option(help="target revision")] = "head",
    migrations: Annotated[
        Path | None, typer.Option(help="migrations folder (default: the service's)")
    ] = None,
) -> None:
    """Create the service's database when missing and upgrade it to REVISION."""
    folder = migrations or service_dir(service) / "migrations"
    url = database_url_for(service)
    with _console.status(f"migrating {service}"):
        upgrade(folder, url, revision=revision)
    _console.print(f"[green]✓[/] {service}: database at {revision}")
