"""Bot signals at the API: each signal moves the decision, and the decision is kept."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import asyncpg
import pytest
from users_support import Listener, unique_email

from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration

UsersApp = Callable[..., AbstractAsyncContextManager[Listener]]


async def last_device(database: ScratchDatabase, ip: str) -> asyncpg.Record:
    connection = await asyncpg.connect(database.primary_dsn)
    try:
        row = await connection.fetchrow(
            "SELECT action, decision, score, reasons, user_id FROM devices"
            " WHERE ip = $1::inet ORDER BY created_at DESC LIMIT 1",
            ip,
        )
    finally:
        await connection.close()
    assert row is not None
    return row


async def test_a_filled_honeypot_blocks_and_is_recorded(
    listener: Listener, users_database: ScratchDatabase
) -> None:
    response = await listener.register(website="https://spam.example")
    assert response.status_code == 403
    assert response.json()["type"].endswith("risk/blocked")
    device = await last_device(users_database, listener.ip)
    assert device["decision"] == "block"
    assert "honeypot-filled" in device["reasons"]


async def test_an_automation_user_agent_is_challenged(
    listener: Listener, users_database: ScratchDatabase
) -> None:
    body = {
        "email": unique_email(),
        "password": "a fine long passphrase",
        "display_name": "Bot",
        "form_token": await listener.form_token(),
    }
    response = await listener.http.post(
        "/auth/register",
        json=body,
        headers={"User-Agent": "python-requests/2.32", "X-Device-Fingerprint": "f" * 32},
    )
    assert response.status_code == 403
    assert response.json()["type"].endswith("risk/challenge-required")
    assert "automation-user-agent" in (await last_device(users_database, listener.ip))["reasons"]


async def test_a_form_filled_too_fast_is_challenged(
    users_app: UsersApp, users_database: ScratchDatabase
) -> None:
    async with users_app(risk_min_form_fill_seconds=30) as client:
        response = await client.register()
    assert response.status_code == 403
    device = await last_device(users_database, client.ip)
    assert "form-filled-too-fast" in device["reasons"]


async def test_registrations_from_one_ip_past_the_limit_are_challenged(
    users_app: UsersApp, users_database: ScratchDatabase
) -> None:
    async with users_app(risk_ip_registrations_per_hour=2) as client:
        statuses = []
        for _ in range(3):
            client.fingerprint = unique_email()  # a new device each time: only the IP repeats
            statuses.append((await client.register()).status_code)
    assert statuses == [201, 201, 403]
    assert "ip-velocity" in (await last_device(users_database, client.ip))["reasons"]


async def test_disposable_email_plus_a_missing_form_token_is_challenged(
    listener: Listener, users_database: ScratchDatabase
) -> None:
    ordinary = await listener.register(unique_email())
    assert ordinary.status_code == 201
    disposable = await listener.register(unique_email("mailinator.com"), form_token=None)
    assert disposable.status_code == 403
    reasons = (await last_device(users_database, listener.ip))["reasons"]
    assert {"disposable-email", "form-token-missing"} <= set(reasons)


async def test_a_blocked_login_answers_alike_for_known_and_unknown_users(
    listener: Listener,
) -> None:
    email = unique_email()
    await listener.signed_up(email)
    known = await listener.login(email, website="filled")
    unknown = await listener.login(unique_email(), website="filled")
    assert known.status_code == unknown.status_code == 403
    assert known.json()["type"] == unknown.json()["type"]
