"""The `spotilike` command. Each area adds its own sub-command group here."""

from __future__ import annotations

import typer

from spotilike.tools.contracts import contracts_app
from spotilike.tools.migrate import migrate
from spotilike.tools.stack.commands import stack_app

__all__ = ["app"]

app = typer.Typer(
    name="spotilike",
    help="Spotilike developer tooling: the local stack and friends.",
    no_args_is_help=True,
)
app.add_typer(stack_app, name="stack")
app.add_typer(contracts_app, name="contracts")
app.command()(migrate)
