"""Signing-key rotation: two keys published during the overlap, nothing unverifiable."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import asyncpg
import pytest
from typer.testing import CliRunner
from users_support import Listener, unique_email

from spotilike.kit.auth import JwksCache, TokenVerifier
from spotilike.tools.cli import app as spotilike_cli
from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration

UsersApp = Callable[..., AbstractAsyncContextManager[Listener]]


def kid_of(token: str) -> str:
    import jwt

    return str(jwt.get_unverified_header(token)["kid"])


async def test_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(
    users_app: UsersApp, users_database: ScratchDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with users_app() as client:
        email = unique_email()
        before = await client.signed_up(email)
        old_kid = kid_of(before.access)
        runtime = client.http._transport.app.state.runtime  # type: ignore[attr-defined]

        monkeypatch.setenv("SPOTILIKE_USERS_DATABASE_URL", users_database.primary_url)
        monkeypatch.setenv("SPOTILIKE_ENV", "test")
        result = await asyncio.to_thread(
            CliRunner().invoke, spotilike_cli, ["users", "rotate-keys"], env=dict(os.environ)
        )
        assert result.exit_code == 0, result.output
        assert "1 older key(s) retired" in result.output

        await runtime.keys.reload()  # what every replica does within its refresh interval
        jwks = (await client.http.get("/.well-known/jwks.json")).json()
        kids = [key["kid"] for key in jwks["keys"]]
        assert len(kids) == 2
        assert old_kid in kids

        after = await client.logged_in(email)
        new_kid = kid_of(after.access)
        assert new_kid != old_kid
        assert new_kid == kids[0]

        # Another service's verifier, fed from the published JWKS, takes both.
        async def fetch() -> dict[str, object]:
            return dict((await client.http.get("/.well-known/jwks.json")).json())

        verifier = TokenVerifier(
            issuer="https://spotilike.dev/users",
            audience="spotilike",
            keys=JwksCache(fetch),
            denylist=None,
        )
        assert (await verifier.verify(before.access)).subject == (
            await verifier.verify(after.access)
        ).subject
        assert (await client.http.get("/users/me", headers=before.headers)).status_code == 200

        # Once the overlap has passed, the retired key leaves the JWKS.
        connection = await asyncpg.connect(users_database.primary_dsn)
        try:
            await connection.execute(
                "UPDATE signing_keys SET retired_at = now() - interval '2 hours' WHERE kid = $1",
                old_kid,
            )
        finally:
            await connection.close()
        await runtime.keys.reload()
        later = (await client.http.get("/.well-known/jwks.json")).json()
        assert [key["kid"] for key in later["keys"]] == [new_kid]


async def test_private_keys_are_stored_encrypted_and_need_the_passphrase(
    users_app: UsersApp, users_database: ScratchDatabase
) -> None:
    async with users_app() as client:
        await client.signed_up()
    connection = await asyncpg.connect(users_database.primary_dsn)
    try:
        pem = bytes(await connection.fetchval("SELECT private_key_pem FROM signing_keys LIMIT 1"))
    finally:
        await connection.close()
    from cryptography.hazmat.primitives import serialization

    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    with pytest.raises((TypeError, ValueError)):
        serialization.load_pem_private_key(pem, password=None)
    with pytest.raises(ValueError, match=r"[Ii]ncorrect password|[Bb]ad decrypt"):
        serialization.load_pem_private_key(pem, password=b"not the passphrase")
