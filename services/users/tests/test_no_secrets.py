"""No password, hash, token or key material in any response or log line."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import asyncpg
import pytest
from users_support import PASSWORD, Listener, outbox_payloads, token_from_link, unique_email

from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration

UsersApp = Callable[..., AbstractAsyncContextManager[Listener]]
NEW_PASSWORD = "another secret passphrase"


async def test_a_whole_account_life_leaks_no_secret(
    users_app: UsersApp, users_database: ScratchDatabase, capfd: pytest.CaptureFixture[str]
) -> None:
    responses: list[str] = []
    async with users_app(log_level="DEBUG") as client:
        email = unique_email()
        registered = await client.register(email)
        responses.append(registered.text)
        tokens = registered.json()["tokens"]
        for response in [
            await client.login(email, "wrong password for the log"),
            await client.login(email),
            await client.http.post(
                "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            ),
            await client.http.post(
                "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            ),
            await client.http.get("/.well-known/jwks.json"),
            await client.http.post("/auth/password/forgot", json={"email": email}),
        ]:
            responses.append(response.text)
        [reset] = [
            p
            for p in await outbox_payloads(users_database, "user.password_reset_requested")
            if p["email"] == email
        ]
        reset_token = token_from_link(reset["reset_url"])
        responses.append(
            (
                await client.http.post(
                    "/auth/password/reset", json={"token": reset_token, "password": NEW_PASSWORD}
                )
            ).text
        )
        fresh = (await client.login(email, NEW_PASSWORD)).json()
        headers = {"Authorization": "Bearer " + fresh["access_token"]}
        responses.append((await client.http.get("/users/me", headers=headers)).text)
        responses.append((await client.http.get("/users/me/sessions", headers=headers)).text)
        responses.append((await client.http.post("/auth/logout", headers=headers)).text)

    connection = await asyncpg.connect(users_database.primary_dsn)
    try:
        password_hash = await connection.fetchval(
            "SELECT password_hash FROM users WHERE email_normalized = $1", email
        )
        private_pems = [
            bytes(r["private_key_pem"])
            for r in await connection.fetch("SELECT private_key_pem FROM signing_keys")
        ]
    finally:
        await connection.close()

    logs = capfd.readouterr()
    everything_logged = logs.out + logs.err
    assert "user_registered" in everything_logged  # the capture did see the service's logs
    secrets = [
        PASSWORD,
        NEW_PASSWORD,
        "wrong password for the log",
        password_hash,
        tokens["refresh_token"],
        tokens["access_token"],
        fresh["access_token"],
        fresh["refresh_token"],
        reset_token,
        "dev-only-signing-key-passphrase",
        "dev-only-form-token-secret",
    ]
    for secret in secrets:
        assert secret not in everything_logged, f"a secret reached the logs: {secret[:12]}…"
    for text in responses:
        for secret in (PASSWORD, NEW_PASSWORD, password_hash, reset_token):
            assert secret not in text
        assert "$argon2" not in text
        assert "PRIVATE KEY" not in text
    for pem in private_pems:
        assert b"ENCRYPTED PRIVATE KEY" in pem  # at rest, only encrypted
    assert not re.search(r'"d"\s*:', "".join(responses))  # no private JWK member
