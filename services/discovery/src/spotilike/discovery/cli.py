"""The `spotilike discovery` commands."""

import typer

__all__ = ["app"]

app = typer.Typer(help="The discovery service.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Commands of the discovery service."""
