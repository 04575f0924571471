"""``spotilike users …``: operator commands of the users service."""

from __future__ import annotations

import asyncio

import typer

from spotilike.kit.db import Database
from spotilike.users.service.keys import Rotation, rotate_keys
from spotilike.users.settings import UsersSettings

__all__ = ["app"]

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
