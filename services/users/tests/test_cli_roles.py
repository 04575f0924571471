"""``spotilike users grant-role``: how the first admin of a platform is made."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from typer.testing import CliRunner
from users_support import Listener, outbox_payloads, unique_email

from spotilike.tools.pytest_plugin import ScratchDatabase
from spotilike.users.cli import app
from spotilike.users.settings import UsersSettings

pytestmark = pytest.mark.integration


async def test_grant_role_makes_an_admin_and_announces_it(
    users_app: Callable[..., AbstractAsyncContextManager[Listener]],
    settings_factory: Callable[..., UsersSettings],
    users_database: ScratchDatabase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    email = unique_email()
    settings = settings_factory()
    for name, value in {
        "SPOTILIKE_USERS_DATABASE_URL": settings.database_url,
        "SPOTILIKE_USERS_REDIS_URL": settings.redis_url,
        "SPOTILIKE_ENV": "test",
    }.items():
        monkeypatch.setenv(name, value)
    async with users_app() as client:
        tokens = await client.signed_up(email)
        before = await client.http.get("/admin/users", headers=tokens.headers)
        assert before.status_code == 403

        # The command runs its own event loop, as it does from a shell.
        result = await asyncio.to_thread(
            CliRunner().invoke, app, ["grant-role", email.upper(), "ADMIN"]
        )
        assert result.exit_code == 0, result.output
        assert "ADMIN granted" in result.output

        again = await client.logged_in(email)
        after = await client.http.get("/admin/users", headers=again.headers)
        assert after.status_code == 200
    changes: list[dict[str, Any]] = await outbox_payloads(users_database, "user.role_changed")
    assert any("ADMIN" in change["roles"] for change in changes)

    unknown = await asyncio.to_thread(
        CliRunner().invoke, app, ["grant-role", "nobody@example.com", "ADMIN"]
    )
    assert unknown.exit_code != 0
    assert "no user with the email" in unknown.output
