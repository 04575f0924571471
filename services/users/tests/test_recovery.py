"""Password reset and email verification: the emailed single-use tokens."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from users_support import PASSWORD, Listener, outbox_payloads, token_from_link, unique_email

from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration

UsersApp = Callable[..., AbstractAsyncContextManager[Listener]]
NEW_PASSWORD = "a brand new passphrase"


async def reset_links(database: ScratchDatabase, email: str) -> list[str]:
    payloads = await outbox_payloads(database, "user.password_reset_requested")
    return [p["reset_url"] for p in payloads if p["email"] == email]


async def test_forgot_answers_alike_for_known_and_unknown_emails(
    listener: Listener, users_database: ScratchDatabase
) -> None:
    email = unique_email()
    await listener.signed_up(email)
    known = await listener.http.post("/auth/password/forgot", json={"email": email})
    unknown = await listener.http.post("/auth/password/forgot", json={"email": unique_email()})
    malformed = await listener.http.post(
        "/auth/password/forgot", json={"email": "not-an-email-" + unique_email().split("@")[0]}
    )
    assert known.status_code == unknown.status_code == malformed.status_code == 202
    assert known.json() == unknown.json() == malformed.json()
    assert len(await reset_links(users_database, email)) == 1


async def test_the_reset_link_uses_the_configured_host_not_the_request_host(
    users_app: UsersApp, users_database: ScratchDatabase
) -> None:
    async with users_app(web_url="https://listen.spotilike.test") as client:
        email = unique_email()
        await client.signed_up(email)
        await client.http.post(
            "/auth/password/forgot",
            json={"email": email},
            headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
        )
    [link] = await reset_links(users_database, email)
    assert link.startswith("https://listen.spotilike.test/reset-password?token=")
    token = token_from_link(link)
    # 32 random bytes, URL-safe base64: 256 bits, well over the 128 required.
    assert len(token) >= 43


async def test_reset_sets_the_password_once_and_revokes_every_session(
    listener: Listener, users_database: ScratchDatabase
) -> None:
    email = unique_email()
    first = await listener.signed_up(email)
    second = await listener.logged_in(email)
    await listener.http.post("/auth/password/forgot", json={"email": email})
    [link] = await reset_links(users_database, email)
    token = token_from_link(link)

    done = await listener.http.post(
        "/auth/password/reset", json={"token": token, "password": NEW_PASSWORD}
    )
    assert done.status_code == 204, done.text
    for old in (first, second):
        assert (await listener.http.get("/users/me", headers=old.headers)).status_code == 401
        refreshed = await listener.http.post("/auth/refresh", json={"refresh_token": old.refresh})
        assert refreshed.status_code == 401
    assert (await listener.login(email, PASSWORD)).status_code == 401
    assert (await listener.login(email, NEW_PASSWORD)).status_code == 200

    again = await listener.http.post(
        "/auth/password/reset", json={"token": token, "password": "yet another passphrase"}
    )
    assert again.status_code == 422
    assert again.json()["type"].endswith("token-invalid")


async def test_only_the_hash_of_the_reset_token_is_stored(
    listener: Listener, users_database: ScratchDatabase
) -> None:
    email = unique_email()
    await listener.signed_up(email)
    await listener.http.post("/auth/password/forgot", json={"email": email})
    [link] = await reset_links(users_database, email)
    token = token_from_link(link)
    connection = await asyncpg.connect(users_database.primary_dsn)
    try:
        stored = await connection.fetch("SELECT token_hash FROM account_tokens")
        dump = await connection.fetchval("SELECT string_agg(t::text, ' ') FROM account_tokens t")
    finally:
        await connection.close()
    assert stored
    assert token not in dump
    assert token.encode() not in [bytes(row["token_hash"]) for row in stored]


async def test_a_newer_reset_token_invalidates_the_older_one(
    listener: Listener, users_database: ScratchDatabase
) -> None:
    email = unique_email()
    await listener.signed_up(email)
    await listener.http.post("/auth/password/forgot", json={"email": email})
    await listener.http.post("/auth/password/forgot", json={"email": email})
    older, newer = [token_from_link(link) for link in await reset_links(users_database, email)]
    stale = await listener.http.post(
        "/auth/password/reset", json={"token": older, "password": NEW_PASSWORD}
    )
    assert stale.status_code == 422
    fresh = await listener.http.post(
        "/auth/password/reset", json={"token": newer, "password": NEW_PASSWORD}
    )
    assert fresh.status_code == 204


async def test_a_reset_token_expires_after_thirty_minutes(
    listener: Listener, users_database: ScratchDatabase
) -> None:
    email = unique_email()
    await listener.signed_up(email)
    await listener.http.post("/auth/password/forgot", json={"email": email})
    [link] = await reset_links(users_database, email)
    payload = (await outbox_payloads(users_database, "user.password_reset_requested"))[-1]
    expires_at = datetime.fromisoformat(payload["expires_at"])
    lifetime = expires_at - datetime.now(UTC)
    assert timedelta(minutes=29) < lifetime <= timedelta(minutes=30)
    connection = await asyncpg.connect(users_database.primary_dsn)
    try:
        # Travel 31 minutes forward by moving the token's clock back.
        await connection.execute(
            "UPDATE account_tokens SET expires_at = now() - interval '1 minute'"
            " WHERE purpose = 'password_reset'"
        )
    finally:
        await connection.close()
    expired = await listener.http.post(
        "/auth/password/reset", json={"token": token_from_link(link), "password": NEW_PASSWORD}
    )
    assert expired.status_code == 422


async def test_a_weak_new_password_keeps_the_token_usable(
    listener: Listener, users_database: ScratchDatabase
) -> None:
    email = unique_email()
    await listener.signed_up(email)
    await listener.http.post("/auth/password/forgot", json={"email": email})
    [link] = await reset_links(users_database, email)
    token = token_from_link(link)
    weak = await listener.http.post(
        "/auth/password/reset", json={"token": token, "password": "123"}
    )
    assert weak.status_code == 422
    assert weak.json()["errors"][0]["pointer"] == "/password"
    good = await listener.http.post(
        "/auth/password/reset", json={"token": token, "password": NEW_PASSWORD}
    )
    assert good.status_code == 204


async def test_forgot_is_rate_limited_per_email(users_app: UsersApp) -> None:
    async with users_app(password_resets_per_email_per_hour=2) as client:
        email = unique_email()
        statuses = [
            (await client.http.post("/auth/password/forgot", json={"email": email})).status_code
            for _ in range(3)
        ]
        limited = await client.http.post("/auth/password/forgot", json={"email": email})
    assert statuses[:2] == [202, 202]
    assert statuses[2] == 429
    assert "Retry-After" in limited.headers


async def test_forgot_is_rate_limited_per_ip(users_app: UsersApp) -> None:
    async with users_app(password_resets_per_ip_per_hour=3) as client:
        statuses = [
            (
                await client.http.post("/auth/password/forgot", json={"email": unique_email()})
            ).status_code
            for _ in range(4)
        ]
    assert statuses == [202, 202, 202, 429]


async def test_email_verification_link_verifies_once(
    listener: Listener, users_database: ScratchDatabase
) -> None:
    email = unique_email()
    tokens = await listener.signed_up(email)
    payloads = await outbox_payloads(users_database, "user.email_verification_requested")
    [link] = [p["verification_url"] for p in payloads if p["email"] == email]
    token = token_from_link(link)
    done = await listener.http.post("/auth/email/verify", json={"token": token})
    assert done.status_code == 204
    me = (await listener.http.get("/users/me", headers=tokens.headers)).json()
    assert me["email_verified"] is True
    again = await listener.http.post("/auth/email/verify", json={"token": token})
    assert again.status_code == 422
    updates = await outbox_payloads(users_database, "user.updated")
    assert any(u["email"] == email for u in updates)
