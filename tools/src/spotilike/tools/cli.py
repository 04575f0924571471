"""The `spotilike` command. Each area adds its own sub-command group here.

Services contribute their own groups (``spotilike users rotate-keys``) through the
``spotilike.cli`` entry point group, so the tools never import a service.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import typer

from spotilike.tools.contracts import contracts_app
from spotilike.tools.mail import mail_app
from spotilike.tools.migrate import migrate
from spotilike.tools.platform.commands import down, status, up
from spotilike.tools.stack.commands import stack_app

__all__ = ["app"]

app = typer.Typer(
    name="spotilike",
    help="Spotilike developer tooling: the local stack and friends.",
    no_args_is_help=True,
)
app.add_typer(stack_app, name="stack")
app.add_typer(contracts_app, name="contracts")
app.add_typer(mail_app, name="mail")
app.command()(migrate)
app.command()(up)
app.command()(down)
app.command()(status)

for _entry in sorted(entry_points(group="spotilike.cli"), key=lambda entry: entry.name):
    app.add_typer(_entry.load(), name=_entry.name)
