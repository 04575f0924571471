"""Administration: roles, disabling accounts, risk signals; and who may do it."""

from __future__ import annotations

import uuid

import pytest
from users_support import (
    Listener,
    Tokens,
    claims_of_token,
    make_admin,
    outbox_payloads,
    unique_email,
)

from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration


async def admin_tokens(listener: Listener, database: ScratchDatabase) -> Tokens:
    email = unique_email()
    await listener.signed_up(email)
    await make_admin(database, email)
    return await listener.logged_in(email)


async def user_id_of(listener: Listener, tokens: Tokens) -> str:
    me = await listener.http.get("/users/me", headers=tokens.headers)
    return str(me.json()["id"])


ADMIN_ROUTES = [
    ("GET", "/admin/users", None),
    ("GET", "/admin/users/{id}", None),
    ("POST", "/admin/users/{id}/roles", {"role": "ADMIN"}),
    ("DELETE", "/admin/users/{id}/roles/ARTIST", None),
    ("POST", "/admin/users/{id}/disable", None),
    ("POST", "/admin/users/{id}/enable", None),
    ("GET", "/admin/users/{id}/signals", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
async def test_listener_tokens_get_403_on_every_admin_route(
    listener: Listener, method: str, path: str, body: object
) -> None:
    tokens = await listener.signed_up()
    target = await user_id_of(listener, tokens)
    response = await listener.http.request(
        method, path.format(id=target), json=body, headers=tokens.headers
    )
    assert response.status_code == 403, response.text
    assert response.json()["type"].endswith("auth/missing-role")
    anonymous = await listener.http.request(method, path.format(id=target), json=body)
    assert anonymous.status_code == 401


async def test_search_pages_through_users(
    listener: Listener, users_database: ScratchDatabase
) -> None:
    admin = await admin_tokens(listener, users_database)
    marker = uuid.uuid4().hex[:10]
    for _ in range(3):
        await listener.signed_up(unique_email(f"{marker}.example.org"))
    first = await listener.http.get(
        "/admin/users", params={"query": marker, "limit": 2}, headers=admin.headers
    )
    assert first.status_code == 200, first.text
    page = first.json()
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    second = await listener.http.get(
        "/admin/users",
        params={"query": marker, "limit": 2, "after": page["next_cursor"]},
        headers=admin.headers,
    )
    assert len(second.json()["items"]) == 1
    assert second.json()["next_cursor"] is None
    assert "password_hash" not in first.text
    too_big = await listener.http.get("/admin/users", params={"limit": 1000}, headers=admin.headers)
    assert too_big.status_code == 422


async def test_granting_artist_needs_the_artist_and_puts_it_in_the_token(
    listener: Listener, users_database: ScratchDatabase
) -> None:
    admin = await admin_tokens(listener, users_database)
    email = unique_email()
    user = await listener.signed_up(email)
    target = await user_id_of(listener, user)
    missing = await listener.http.post(
        f"/admin/users/{target}/roles", json={"role": "ARTIST"}, headers=admin.headers
    )
    assert missing.status_code == 422
    artist_id = str(uuid.uuid4())
    granted = await listener.http.post(
        f"/admin/users/{target}/roles",
        json={"role": "ARTIST", "artist_id": artist_id},
        headers=admin.headers,
    )
    assert granted.status_code == 200, granted.text
    assert granted.json()["roles"] == ["ARTIST", "USER"]
    claims = claims_of_token((await listener.logged_in(email)).access)
    assert claims["roles"] == ["ARTIST", "USER"]
    assert claims["artist_id"] == artist_id
    events = await outbox_payloads(users_database, "user.role_changed")
    assert any(e["user_id"] == target and e["artist_id"] == artist_id for e in events)


async def test_revoking_a_role_ends_the_sessions_that_carried_it(
    listener: Listener, users_database: ScratchDatabase
) -> None:
    admin = await admin_tokens(listener, users_database)
    email = unique_email()
    await listener.signed_up(email)
    await make_admin(users_database, email)
    other_admin = await listener.logged_in(email)
    target = await user_id_of(listener, other_admin)
    revoked = await listener.http.delete(
        f"/admin/users/{target}/roles/ADMIN", headers=admin.headers
    )
    assert revoked.status_code == 200
    assert revoked.json()["roles"] == ["USER"]
    stale = await listener.http.get("/admin/users", headers=other_admin.headers)
    assert stale.status_code == 401


async def test_disabling_revokes_tokens_and_refuses_sign_in_until_enabled(
    listener: Listener, users_database: ScratchDatabase
) -> None:
    admin = await admin_tokens(listener, users_database)
    email = unique_email()
    user = await listener.signed_up(email)
    target = await user_id_of(listener, user)
    disabled = await listener.http.post(f"/admin/users/{target}/disable", headers=admin.headers)
    assert disabled.status_code == 200
    assert disabled.json()["disabled"] is True
    assert (await listener.http.get("/users/me", headers=user.headers)).status_code == 401
    refreshed = await listener.http.post("/auth/refresh", json={"refresh_token": user.refresh})
    assert refreshed.status_code == 401
    login = await listener.login(email)
    assert login.status_code == 403
    assert login.json()["type"].endswith("auth/account-disabled")
    updates = [
        u for u in await outbox_payloads(users_database, "user.updated") if u["user_id"] == target
    ]
    assert updates[-1]["disabled"] is True

    enabled = await listener.http.post(f"/admin/users/{target}/enable", headers=admin.headers)
    assert enabled.json()["disabled"] is False
    assert (await listener.login(email)).status_code == 200


async def test_admins_cannot_lock_themselves_out(
    listener: Listener, users_database: ScratchDatabase
) -> None:
    admin = await admin_tokens(listener, users_database)
    me = await user_id_of(listener, admin)
    assert (
        await listener.http.post(f"/admin/users/{me}/disable", headers=admin.headers)
    ).status_code == 409
    assert (
        await listener.http.delete(f"/admin/users/{me}/roles/ADMIN", headers=admin.headers)
    ).status_code == 409


async def test_unknown_user_ids_are_404(
    listener: Listener, users_database: ScratchDatabase
) -> None:
    admin = await admin_tokens(listener, users_database)
    response = await listener.http.get(f"/admin/users/{uuid.uuid4()}", headers=admin.headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_signals_show_what_the_risk_check_saw(
    listener: Listener, users_database: ScratchDatabase
) -> None:
    admin = await admin_tokens(listener, users_database)
    email = unique_email()
    user = await listener.signed_up(email)
    target = await user_id_of(listener, user)
    await listener.login(email)
    signals = await listener.http.get(f"/admin/users/{target}/signals", headers=admin.headers)
    assert signals.status_code == 200, signals.text
    records = signals.json()
    assert {r["action"] for r in records} == {"login"}
    record = records[0]
    assert record["ip"] == listener.ip
    assert record["decision"] == "allow"
    assert record["fingerprint_hash"]
    assert listener.fingerprint not in signals.text
