"""Fixtures and helpers of the notification service's tests: a migrated database, a real
SMTP server on loopback, settings pointing at both, and Kafka/queue helpers."""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from spotilike.contracts.events.base import EventData
from spotilike.contracts.events.users import PasswordResetRequestedV1, UserRegisteredV1
from spotilike.kit.db import Database
from spotilike.kit.events import CloudEvent
from spotilike.notifications.app import create_notifications_app
from spotilike.notifications.consumers import TOPICS
from spotilike.notifications.providers import EmailProvider, SmtpProvider
from spotilike.notifications.service.delivery import DeliveryWorker
from spotilike.notifications.service.runtime import Runtime, build_runtime
from spotilike.notifications.settings import NotificationsSettings
from spotilike.tools.moto_server import running_moto
from spotilike.tools.pytest_plugin import (
    ScratchDatabase,
    ScratchTopics,
    SmtpTestServer,
    TokenIssuer,
    running_app,
)

sys.path.insert(0, str(Path(__file__).parent))

MIGRATIONS = Path(__file__).parents[1] / "migrations"
PUBLIC_URL = "http://localhost:8080"


@pytest.fixture(scope="module")
def notifications_database(fresh_database: ScratchDatabase) -> ScratchDatabase:
    return fresh_database.migrated(MIGRATIONS)


@pytest.fixture
def settings_factory(
    notifications_database: ScratchDatabase,
    redis_url: str,
    kafka_bootstrap: str,
    smtp_sink: SmtpTestServer,
) -> Callable[..., NotificationsSettings]:
    def make(**overrides: Any) -> NotificationsSettings:
        values: dict[str, Any] = {
            "env": "test",
            "public_url": PUBLIC_URL,
            "database_url": notifications_database.primary_url,
            "database_replica_url": notifications_database.replica_url,
            "redis_url": redis_url,
            "kafka_bootstrap_servers": kafka_bootstrap,
            "smtp_host": smtp_sink.host,
            "smtp_port": smtp_sink.port,
            "max_attempts": 3,
            "retry_base_seconds": 0.05,
            "retry_max_seconds": 0.2,
            "poll_seconds": 0.05,
            "log_json": False,
        }
        values.update(overrides)
        return NotificationsSettings(**values)

    return make


def unique_email(name: str = "listener") -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}@example.com"


@asynccontextmanager
async def service_runtime(
    settings: NotificationsSettings, provider: EmailProvider | None = None
) -> AsyncIterator[Runtime]:
    """The use cases' runtime on the test database, without the HTTP app or Kafka."""
    database = Database(primary_url=settings.database_url, pool_size=4)
    try:
        yield build_runtime(
            settings, database=database, provider=provider or SmtpProvider(settings)
        )
    finally:
        await database.dispose()


@asynccontextmanager
async def delivering(runtime: Runtime) -> AsyncIterator[DeliveryWorker]:
    """A delivery worker running in the background for the block."""
    worker = DeliveryWorker(runtime)
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.stop()
        await asyncio.wait_for(task, timeout=30)


async def until(check: Callable[[], Awaitable[Any]], *, seconds: float = 60) -> Any:
    """Polls a condition the system reaches asynchronously; its first truthy value."""
    for _ in range(int(seconds * 20)):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("the condition did not hold in time")


async def email_row(database: ScratchDatabase, email_id: uuid.UUID) -> asyncpg.Record:
    connection = await asyncpg.connect(database.primary_dsn)
    try:
        row = await connection.fetchrow("SELECT * FROM emails WHERE id = $1", email_id)
    finally:
        await connection.close()
    assert row is not None
    return row


async def fetch(database: ScratchDatabase, query: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(database.primary_dsn)
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


async def settled(database: ScratchDatabase, email_id: uuid.UUID) -> asyncpg.Record | None:
    """The email's row once it reached an end (sent, dead, skipped), else None."""
    row = await email_row(database, email_id)
    return row if row["status"] in ("sent", "dead", "skipped") else None


def reset_event(
    email: str, *, language: str = "en", url: str | None = None
) -> PasswordResetRequestedV1:
    return PasswordResetRequestedV1(
        user_id=uuid.uuid4(),
        email=email,
        language=language,
        reset_url=url or f"{PUBLIC_URL}/reset-password?token={uuid.uuid4().hex}",
        expires_at=datetime.now(UTC) + timedelta(minutes=30),
    )


def registered_event(
    email: str, *, display_name: str = "Ada", language: str = "en", user_id: uuid.UUID | None = None
) -> UserRegisteredV1:
    return UserRegisteredV1(
        user_id=user_id or uuid.uuid4(),
        email=email,
        display_name=display_name,
        language=language,
    )


async def create_topics(topics: ScratchTopics) -> None:
    names = [*TOPICS, "notifications.dlq"]
    await topics.create(*names, *(name + ".dlq" for name in TOPICS))


async def publish(
    bootstrap: str, topic: str, event: CloudEvent, *, key: str, times: int = 1
) -> None:
    """Sends ``event`` ``times`` times: the second copy is a redelivery, same id."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for _ in range(times):
            await producer.send_and_wait(
                topic, event.data, key=key.encode(), headers=event.kafka_headers()
            )
    finally:
        await producer.stop()


def cloud_event(payload: EventData) -> CloudEvent:
    return CloudEvent.create(payload, source="/users")


async def dead_letters(bootstrap: str, topic: str, *, wanted: int) -> list[CloudEvent]:
    """The first ``wanted`` events on ``topic``, read from the beginning."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        events: list[CloudEvent] = []
        async with asyncio.timeout(60):
            while len(events) < wanted:
                record = await consumer.getone()
                events.append(CloudEvent.from_kafka(record.headers, record.value))
        return events
    finally:
        await consumer.stop()


@dataclass
class Notifications:
    http: httpx.AsyncClient
    issuer: TokenIssuer
    app: Any

    def admin(self) -> dict[str, str]:
        return self.issuer.headers(roles=("ADMIN", "USER"))

    def listener(self) -> dict[str, str]:
        return self.issuer.headers(roles=("USER",))


@asynccontextmanager
async def serve(
    settings: NotificationsSettings,
    issuer: TokenIssuer,
    *,
    topic_prefix: str = "",
    run_workers: bool = True,
) -> AsyncIterator[Notifications]:
    app = create_notifications_app(
        settings,
        topic_prefix=topic_prefix,
        run_workers=run_workers,
        token_verifier=issuer.verifier(),
    )
    async with running_app(app) as http:
        yield Notifications(http=http, issuer=issuer, app=app)


@dataclass
class SendGridRequest:
    authorization: str | None
    body: dict[str, Any]


class FakeSendGrid:
    """A small server speaking SendGrid's v3 Mail Send API on loopback: it checks the
    bearer key and the body's required members, keeps what it accepted, and answers
    with the statuses a test scripts (429, 400, 500) before going back to 202."""

    api_key = "SG.test-key"

    def __init__(self) -> None:
        self.requests: list[SendGridRequest] = []
        self.scripted: list[int] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(SendGridRequest(request.headers.get("Authorization"), body))
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response({"errors": [{"message": "unauthorized"}]}, status=401)
        if self.scripted:
            status = self.scripted.pop(0)
            return web.json_response({"errors": [{"message": f"scripted {status}"}]}, status=status)
        required = ("personalizations", "from", "subject", "content")
        missing = [name for name in required if name not in body]
        if missing:
            return web.json_response({"errors": [{"field": missing[0]}]}, status=400)
        message_id = uuid.uuid4().hex
        return web.Response(status=202, headers={"X-Message-Id": message_id})

    async def start(self) -> FakeSendGrid:
        app = web.Application()
        app.router.add_post("/v3/mail/send", self._send)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def sendgrid() -> AsyncIterator[FakeSendGrid]:
    server = await FakeSendGrid().start()
    try:
        yield server
    finally:
        await server.stop()


@dataclass(frozen=True)
class MotoSes:
    endpoint_url: str
    access_key: str
    secret_key: str

    def sent(self) -> list[dict[str, Any]]:
        """The raw messages moto's SES accepted, from its state dump."""
        with urllib.request.urlopen(self.endpoint_url + "/moto-api/data.json") as answer:
            state = json.load(answer)
        messages: list[dict[str, Any]] = state["ses"]["RawMessage"]
        return messages


@pytest.fixture(scope="module")
def moto_ses(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoSes]:
    """Amazon SES on a moto server of its own: ``sent()`` reads moto's whole state, which
    the shared server's S3 objects from other tests would break."""
    with running_moto(tmp_path_factory.mktemp("moto-ses")) as server:
        yield MotoSes(
            endpoint_url=server.endpoint_url,
            access_key=server.access_key,
            secret_key=server.secret_key,
        )
