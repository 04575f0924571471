"""``spotilike users …``: operator commands of the users service."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from spotilike.kit.db import Database
from spotilike.kit.migrations import upgrade
from spotilike.kit.server import serve as serve_app
from spotilike.users.service.keys import Rotation, rotate_keys
from spotilike.users.settings import UsersSettings

__all__ = ["app"]

MIGRATIONS = Path(__file__).parents[3] / "migrations"

app = typer.Typer(help="The users service: signing keys.", no_args_is_help=True)


@app.callback()
def users() -> None:
    """Operator commands of the users service (settings from SPOTILIKE_USERS_*)."""


async def _rotate(settings: UsersSettings) -> Rotation:
    database = Database(primary_url=settings.database_url, application_name="spotilike-users-cli")
    try:
        return await rotate_keys(
            database, passphrase=settings.signing_key_passphrase.get_secret_value()
        )
    finally:
        await database.dispose()


@app.command("rotate-keys")
def rotate_keys_command() -> None:
    """Start signing with a new RSA key; the old ones stay in the JWKS for the overlap.

    Tokens signed with an old key keep verifying until they expire, and every replica
    picks the new key up within its key ring's refresh interval.
    """
    settings = UsersSettings()
    with typer.progressbar(length=1, label="generating a 3072-bit RSA key") as progress:
        rotation = asyncio.run(_rotate(settings))
        progress.update(1)
    typer.echo(
        f"signing with {rotation.new_kid}; {rotation.retired} older key(s) retired and "
        f"published for {settings.retired_key_published_seconds} s more"
    )


@app.command()
def serve(
    migrate: bool = typer.Option(True, help="upgrade the database before serving"),
) -> None:
    """Run the users service (host, port and the rest from SPOTILIKE_USERS_*)."""
    settings = UsersSettings()
    if migrate:
        if not (MIGRATIONS / "env.py").is_file():
            raise typer.BadParameter(
                f"no migrations at {MIGRATIONS}; run from a checkout or pass --no-migrate"
            )
        upgrade(MIGRATIONS, settings.database_url)
    serve_app("spotilike.users.app:create_users_app", settings)
