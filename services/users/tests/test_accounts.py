"""Sign-up, sign-in, the profile and settings, against the real database and Valkey."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import asyncpg
import pytest
from users_support import PASSWORD, Listener, outbox_payloads, unique_email

from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration

UsersApp = Callable[..., AbstractAsyncContextManager[Listener]]


def claims_of(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    decoded: dict[str, object] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def header_of(token: str) -> dict[str, object]:
    part = token.split(".", maxsplit=1)[0]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


async def test_sign_up_gives_a_profile_and_tokens_with_the_required_claims(
    listener: Listener,
) -> None:
    email = unique_email()
    response = await listener.register(email.upper())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user"]["email_verified"] is False
    assert body["user"]["roles"] == ["USER"]
    assert "argon2" not in response.text
    assert "password_hash" not in response.text
    access = body["tokens"]["access_token"]
    header = header_of(access)
    assert header["alg"] == "RS256"
    assert header["typ"] == "at+jwt"
    assert isinstance(header["kid"], str)
    claims = claims_of(access)
    assert claims["sub"] == body["user"]["id"]
    assert claims["aud"] == "spotilike"
    assert claims["iss"] == "https://spotilike.dev/users"
    assert claims["roles"] == ["USER"]
    assert isinstance(claims["exp"], int)
    assert isinstance(claims["iat"], int)
    assert claims["exp"] - claims["iat"] <= 900
    assert claims["jti"]

    me = await listener.http.get("/users/me", headers={"Authorization": f"Bearer {access}"})
    assert me.status_code == 200, me.text
    assert me.json()["email"].lower() == email


async def test_emails_are_unique_whatever_their_case(listener: Listener) -> None:
    email = unique_email()
    await listener.signed_up(email)
    again = await listener.register(" " + email.upper())
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["type"].endswith("/email-taken")


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short7!", "password/too-short"),
        ("x" * 129, "password/too-long"),
        ("password1", "password/too-common"),
    ],
)
async def test_weak_passwords_are_refused_with_a_pointer(
    listener: Listener, password: str, code: str
) -> None:
    response = await listener.register(password=password)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"].endswith(code)
    assert problem["errors"][0]["pointer"] == "/password"


async def test_login_with_the_right_password_and_case_insensitive_email(
    listener: Listener,
) -> None:
    email = unique_email()
    await listener.signed_up(email)
    tokens = await listener.logged_in(email.upper())
    me = await listener.http.get("/users/me", headers=tokens.headers)
    assert me.status_code == 200


async def test_unknown_user_and_wrong_password_answer_alike(
    users_app: UsersApp,
) -> None:
    async with users_app() as client:
        email = unique_email()
        await client.signed_up(email)
        runtime = client.http._transport.app.state.runtime  # type: ignore[attr-defined]
        before = runtime.hasher.verifications
        wrong = await client.login(email, "not the password at all")
        after_wrong = runtime.hasher.verifications
        unknown = await client.login(unique_email(), "not the password at all")
        after_unknown = runtime.hasher.verifications
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda r: {k: v for k, v in r.json().items() if k not in ("instance", "request_id")}  # noqa: E731
    assert strip(wrong) == strip(unknown)
    assert wrong.json()["type"].endswith("auth/invalid-credentials")
    # The same work on both paths: one Argon2 verification each.
    assert after_wrong - before == 1
    assert after_unknown - after_wrong == 1


async def test_failed_logins_lock_the_account_out_with_retry_after(users_app: UsersApp) -> None:
    async with users_app(login_failures_per_account=3, lockout_seconds=120) as client:
        email = unique_email()
        await client.signed_up(email)
        statuses = [
            (await client.login(email, "wrong password here")).status_code for _ in range(3)
        ]
        locked = await client.login(email, PASSWORD)
    assert statuses == [401, 401, 401]
    assert locked.status_code == 429
    assert locked.json()["type"].endswith("auth/locked-out")
    assert 1 <= int(locked.headers["Retry-After"]) <= 120


async def test_failed_logins_from_one_ip_lock_that_ip_out(users_app: UsersApp) -> None:
    async with users_app(login_failures_per_ip=4, risk_ip_logins_per_minute=1000) as client:
        emails = [unique_email() for _ in range(4)]
        statuses = [
            (await client.login(email, "wrong password here")).status_code for email in emails
        ]
        locked = await client.login(unique_email(), "wrong password here")
    assert statuses == [401] * 4
    assert locked.status_code == 429
    assert "Retry-After" in locked.headers


async def test_profile_update_ignores_nothing_silently_and_grants_nothing(
    listener: Listener,
) -> None:
    tokens = await listener.signed_up()
    for forbidden in ({"roles": ["ADMIN"]}, {"email_verified": True}, {"artist_id": None}):
        response = await listener.http.patch(
            "/users/me", json={"display_name": "Mallory", **forbidden}, headers=tokens.headers
        )
        assert response.status_code == 422, response.text
        pointer = "/" + next(iter(forbidden))
        assert pointer in [e["pointer"] for e in response.json()["errors"]]
    me = (await listener.http.get("/users/me", headers=tokens.headers)).json()
    assert me["roles"] == ["USER"]
    assert me["email_verified"] is False
    assert me["display_name"] == "Ada Listener"

    changed = await listener.http.patch(
        "/users/me",
        json={
            "display_name": "  Ada L.  ",
            "country": "GB",
            "avatar_url": "https://img.example/a.png",
        },
        headers=tokens.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["display_name"] == "Ada L."
    assert changed.json()["country"] == "GB"


async def test_settings_round_trip_and_validate(listener: Listener) -> None:
    tokens = await listener.signed_up()
    defaults = (await listener.http.get("/users/me/settings", headers=tokens.headers)).json()
    assert defaults == {
        "language": "en",
        "explicit_content_allowed": True,
        "streaming_quality_kbps": 320,
        "private_session": False,
    }
    changed = await listener.http.patch(
        "/users/me/settings",
        json={"streaming_quality_kbps": 96, "private_session": True, "language": "sv"},
        headers=tokens.headers,
    )
    assert changed.status_code == 200
    assert changed.json()["streaming_quality_kbps"] == 96
    bad = await listener.http.patch(
        "/users/me/settings", json={"streaming_quality_kbps": 128}, headers=tokens.headers
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["pointer"] == "/streaming_quality_kbps"


async def test_logout_denylists_the_access_token(listener: Listener) -> None:
    tokens = await listener.signed_up()
    out = await listener.http.post("/auth/logout", headers=tokens.headers)
    assert out.status_code == 204
    after = await listener.http.get("/users/me", headers=tokens.headers)
    assert after.status_code == 401
    assert after.json()["type"].endswith("auth/token-revoked")
    refreshed = await listener.http.post("/auth/refresh", json={"refresh_token": tokens.refresh})
    assert refreshed.status_code == 401


async def test_refresh_rotates_and_reuse_revokes_the_family(listener: Listener) -> None:
    tokens = await listener.signed_up()
    first = await listener.http.post("/auth/refresh", json={"refresh_token": tokens.refresh})
    assert first.status_code == 200, first.text
    rotated = first.json()
    assert rotated["refresh_token"] != tokens.refresh
    assert (
        await listener.http.get(
            "/users/me", headers={"Authorization": "Bearer " + rotated["access_token"]}
        )
    ).status_code == 200

    reuse = await listener.http.post("/auth/refresh", json={"refresh_token": tokens.refresh})
    assert reuse.status_code == 401
    assert reuse.json()["type"].endswith("auth/refresh-token-reused")
    # The thief's copy and the owner's newer token are both dead now...
    newer = await listener.http.post(
        "/auth/refresh", json={"refresh_token": rotated["refresh_token"]}
    )
    assert newer.status_code == 401
    # ...and so are the family's live access tokens.
    me = await listener.http.get(
        "/users/me", headers={"Authorization": "Bearer " + rotated["access_token"]}
    )
    assert me.status_code == 401


async def test_concurrent_refreshes_with_one_token_let_at_most_one_through(
    listener: Listener,
) -> None:
    tokens = await listener.signed_up()
    results = await asyncio.gather(
        *[
            listener.http.post("/auth/refresh", json={"refresh_token": tokens.refresh})
            for _ in range(5)
        ]
    )
    assert sum(r.status_code == 200 for r in results) <= 1
    assert all(r.status_code in (200, 401) for r in results)


async def test_sessions_are_listed_and_revocable_only_by_their_owner(users_app: UsersApp) -> None:
    async with users_app() as client:
        email = unique_email()
        first = await client.signed_up(email)
        second = await client.logged_in(email)
        intruder = await client.signed_up()

        listed = await client.http.get("/users/me/sessions", headers=second.headers)
        assert listed.status_code == 200
        sessions = listed.json()
        assert len(sessions) == 2
        assert [s["current"] for s in sessions].count(True) == 1
        other = next(s for s in sessions if not s["current"])

        stolen = await client.http.delete(
            f"/users/me/sessions/{other['id']}", headers=intruder.headers
        )
        assert stolen.status_code == 404

        revoked = await client.http.delete(
            f"/users/me/sessions/{other['id']}", headers=second.headers
        )
        assert revoked.status_code == 204
        assert (await client.http.get("/users/me", headers=first.headers)).status_code == 401
        assert (
            await client.http.post("/auth/refresh", json={"refresh_token": first.refresh})
        ).status_code == 401
        assert (await client.http.get("/users/me", headers=second.headers)).status_code == 200


async def test_deleting_the_account_needs_the_password_and_ends_everything(
    listener: Listener,
) -> None:
    email = unique_email()
    tokens = await listener.signed_up(email)
    refused = await listener.http.request(
        "DELETE", "/users/me", json={"password": "not it at all"}, headers=tokens.headers
    )
    assert refused.status_code == 403
    deleted = await listener.http.request(
        "DELETE", "/users/me", json={"password": PASSWORD}, headers=tokens.headers
    )
    assert deleted.status_code == 204
    assert (await listener.http.get("/users/me", headers=tokens.headers)).status_code == 401
    assert (await listener.login(email)).status_code == 401
    # The address is free again.
    assert (await listener.register(email)).status_code == 201


async def test_jwks_publishes_the_signing_key(listener: Listener) -> None:
    tokens = await listener.signed_up()
    jwks = (await listener.http.get("/.well-known/jwks.json")).json()
    kids = {key["kid"] for key in jwks["keys"]}
    assert header_of(tokens.access)["kid"] in kids
    for key in jwks["keys"]:
        assert key["kty"] == "RSA"
        assert key["alg"] == "RS256"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


async def test_login_rehashes_a_password_stored_with_older_parameters(
    users_app: UsersApp, users_database: ScratchDatabase
) -> None:
    email = unique_email()
    async with users_app() as old:
        await old.signed_up(email)
    async with users_app(argon2_time_cost=3) as new:
        assert (await new.login(email)).status_code == 200
        assert (await new.login(email)).status_code == 200  # and the new hash verifies
    connection = await asyncpg.connect(users_database.primary_dsn)
    try:
        stored = await connection.fetchval(
            "SELECT password_hash FROM users WHERE email_normalized = $1", email
        )
    finally:
        await connection.close()
    assert stored.startswith("$argon2id$")
    assert ",t=3," in stored


async def test_registration_and_deletion_are_published(
    listener: Listener, users_database: ScratchDatabase
) -> None:
    email = unique_email()
    tokens = await listener.signed_up(email)
    user_id = claims_of(tokens.access)["sub"]
    [registered] = [
        p for p in await outbox_payloads(users_database, "user.registered") if p["email"] == email
    ]
    assert registered["user_id"] == user_id
    assert registered["display_name"] == "Ada Listener"
    assert "password" not in json.dumps(registered)
    await listener.http.request(
        "DELETE", "/users/me", json={"password": PASSWORD}, headers=tokens.headers
    )
    deleted = await outbox_payloads(users_database, "user.deleted")
    assert {"user_id": user_id} in deleted


async def test_oversized_and_deeply_nested_bodies_are_refused(listener: Listener) -> None:
    json_type = {"content-type": "application/json"}
    deep = await listener.http.post("/auth/login", content="[" * 30_000, headers=json_type)
    assert deep.status_code == 400
    assert deep.headers["content-type"] == "application/problem+json"
    huge = await listener.http.post(
        "/auth/register", content='{"email": "' + "a" * 70_000 + '"}', headers=json_type
    )
    assert huge.status_code == 413
