"""``spotilike discovery …``: operator commands of the discovery service."""

from __future__ import annotations

import typer

from spotilike.discovery.settings import DiscoverySettings
from spotilike.kit.server import serve as serve_app

__all__ = ["app"]

app = typer.Typer(help="The discovery service.", no_args_is_help=True)


@app.callback()
def discovery() -> None:
    """Operator commands of the discovery service (settings from SPOTILIKE_DISCOVERY_*)."""


@app.command()
def serve() -> None:
    """Run the registry (host, port, Valkey and the rest from SPOTILIKE_DISCOVERY_*)."""
    serve_app("spotilike.discovery.app:create_discovery_app", DiscoverySettings())
