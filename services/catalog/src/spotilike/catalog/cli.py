"""``spotilike catalog …``: operator commands of the catalog service."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(help="The catalog service.", no_args_is_help=True)


@app.callback()
def catalog() -> None:
    """Operator commands of the catalog service (settings from SPOTILIKE_CATALOG_*)."""
