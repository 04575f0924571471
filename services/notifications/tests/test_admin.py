"""Admin routes: list emails by status, retry a dead one; ADMIN only."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from notifications_support import (
    delivering,
    email_row,
    fetch,
    serve,
    service_runtime,
    settled,
    unique_email,
    until,
)

from spotilike.notifications.service import intake
from spotilike.notifications.settings import NotificationsSettings
from spotilike.tools.pytest_plugin import ScratchDatabase, SmtpTestServer, TokenIssuer

pytestmark = pytest.mark.integration

Settings = Callable[..., NotificationsSettings]


async def dead_email(settings: NotificationsSettings, database: ScratchDatabase) -> uuid.UUID:
    async with service_runtime(settings) as runtime:
        async with runtime.database.transaction() as session:
            email_id = await intake.queue_email(
                runtime,
                session,
                event_id=uuid.uuid4(),
                template="welcome",
                user_id=uuid.uuid4(),
                recipient=unique_email(),
                language="en",
                data={"display_name": "Ada"},
            )
        assert email_id is not None
        async with delivering(runtime):
            row = await until(lambda: settled(database, email_id))
    assert row["status"] == "dead"
    return email_id


async def test_admins_list_dead_emails_and_a_retry_delivers_one(
    settings_factory: Settings,
    smtp_sink: SmtpTestServer,
    notifications_database: ScratchDatabase,
    token_issuer: TokenIssuer,
) -> None:
    smtp_sink.refuse("550 5.7.1 Relay denied", times=1)
    settings = settings_factory()
    email_id = await dead_email(settings, notifications_database)

    async with serve(settings, token_issuer, run_workers=False) as service:
        listed = await service.http.get(
            "/admin/emails", params={"status": "dead"}, headers=service.admin()
        )
        assert listed.status_code == 200, listed.text
        items = listed.json()["items"]
        assert str(email_id) in [item["id"] for item in items]
        assert {item["status"] for item in items} == {"dead"}
        [mine] = [item for item in items if item["id"] == str(email_id)]
        assert "550 5.7.1 Relay denied" in mine["last_error"]

        retried = await service.http.post(
            f"/admin/emails/{email_id}/retry", headers=service.admin()
        )
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "queued"
        assert retried.json()["attempts"] == 0

        again = await service.http.post(f"/admin/emails/{email_id}/retry", headers=service.admin())
        assert again.status_code == 409
        assert again.json()["type"].endswith("notifications/email-not-dead")

    async with service_runtime(settings) as runtime, delivering(runtime):
        row = await until(lambda: settled(notifications_database, email_id))
    assert row["status"] == "sent"
    assert row["attempts"] == 1
    assert smtp_sink.deliveries == 2
    assert len(smtp_sink.messages()) == 1


async def test_pages_of_emails_follow_each_other_without_repeats(
    settings_factory: Settings,
    smtp_sink: SmtpTestServer,
    notifications_database: ScratchDatabase,
    token_issuer: TokenIssuer,
) -> None:
    smtp_sink.refuse("550 5.7.1 Refused", times=3)
    settings = settings_factory()
    ids = {await dead_email(settings, notifications_database) for _ in range(3)}
    async with serve(settings, token_issuer, run_workers=False) as service:
        seen: list[str] = []
        cursor = None
        for _ in range(20):
            params = {"status": "dead", "limit": "2", **({"cursor": cursor} if cursor else {})}
            page = await service.http.get("/admin/emails", params=params, headers=service.admin())
            assert page.status_code == 200
            seen.extend(item["id"] for item in page.json()["items"])
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
    assert len(seen) == len(set(seen))
    assert {str(i) for i in ids} <= set(seen)


async def test_only_admins_reach_the_admin_routes(
    settings_factory: Settings, token_issuer: TokenIssuer, notifications_database: ScratchDatabase
) -> None:
    async with serve(settings_factory(), token_issuer, run_workers=False) as service:
        anonymous = await service.http.get("/admin/emails")
        listener = await service.http.get("/admin/emails", headers=service.listener())
        retry = await service.http.post(
            f"/admin/emails/{uuid.uuid4()}/retry", headers=service.listener()
        )
        missing = await service.http.post(
            f"/admin/emails/{uuid.uuid4()}/retry", headers=service.admin()
        )
        bad_status = await service.http.get(
            "/admin/emails", params={"status": "lost"}, headers=service.admin()
        )
    assert anonymous.status_code == 401
    assert listener.status_code == 403
    assert retry.status_code == 403
    assert missing.status_code == 404
    assert bad_status.status_code == 422


async def test_a_user_deleted_event_erases_their_emails(
    settings_factory: Settings, notifications_database: ScratchDatabase
) -> None:
    user_id = uuid.uuid4()
    async with service_runtime(settings_factory()) as runtime:
        async with runtime.database.transaction() as session:
            email_id = await intake.queue_email(
                runtime,
                session,
                event_id=uuid.uuid4(),
                template="welcome",
                user_id=user_id,
                recipient=unique_email(),
                language="en",
                data={"display_name": "Ada"},
            )
        assert email_id is not None
        assert (await email_row(notifications_database, email_id))["user_id"] == user_id
        async with runtime.database.transaction() as session:
            await intake.user_deleted(runtime, session, user_id=user_id)
    assert (
        await fetch(notifications_database, "SELECT id FROM emails WHERE id = $1", email_id) == []
    )
