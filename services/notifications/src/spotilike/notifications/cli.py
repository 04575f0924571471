"""The `spotilike notifications` commands."""

import typer

__all__ = ["app"]

app = typer.Typer(help="The notifications service.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Commands of the notifications service."""
