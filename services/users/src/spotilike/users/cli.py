"""``spotilike users …``: operator commands of the users service."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer
from redis.asyncio import Redis

from spotilike.kit.db import Database
from spotilike.kit.migrations import upgrade
from spotilike.kit.server import serve as serve_app
from spotilike.users import repository
from spotilike.users.email_address import normalize_email
from spotilike.users.models import Role
from spotilike.users.service.admin import grant_role
from spotilike.users.service.keys import Rotation, rotate_keys
from spotilike.users.service.runtime import build_runtime
from spotilike.users.settings import UsersSettings

__all__ = ["app"]

MIGRATIONS = Path(__file__).parents[3] / "migrations"

app = typer.Typer(help="The users service: signing keys, roles.", no_args_is_help=True)


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


async def _grant(settings: UsersSettings, email: str, role: Role, artist_id: UUID | None) -> str:
    database = Database(primary_url=settings.database_url, application_name="spotilike-users-cli")
    redis = Redis.from_url(settings.redis_url)
    try:
        runtime = build_runtime(settings, database=database, redis=redis)
        async with database.transaction() as session:
            user = await repository.user_by_email(session, normalize_email(email))
            if user is None:
                raise typer.BadParameter(f"no user with the email {email!r}")
            granted = await grant_role(
                runtime,
                session,
                admin_id="operator-cli",
                user_id=user.id,
                role=role,
                artist_id=artist_id,
            )
            return str(granted.id)
    finally:
        await redis.aclose()
        await database.dispose()


@app.command("grant-role")
def grant_role_command(
    email: Annotated[str, typer.Argument(help="the account's email")],
    role: Annotated[Role, typer.Argument(help="USER, ARTIST or ADMIN")],
    artist_id: Annotated[
        UUID | None, typer.Option(help="the catalog artist an ARTIST manages")
    ] = None,
) -> None:
    """Grant a role from the operator's shell: how the first ADMIN of a platform is made.

    Everything after that goes through ``POST /admin/users/{id}/roles``; this command exists
    because that route needs an admin to call it.
    """
    user_id = asyncio.run(_grant(UsersSettings(), email, role, artist_id))
    typer.echo(f"{role.value} granted to {email} ({user_id})")
