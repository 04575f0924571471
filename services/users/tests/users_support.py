"""Fixtures of the users service's tests: a migrated database and apps on the real stack."""

from __future__ import annotations

import json
import random
import secrets
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from spotilike.tools.pytest_plugin import ScratchDatabase, running_app
from spotilike.users.app import create_users_app
from spotilike.users.settings import UsersSettings

sys.path.insert(0, str(Path(__file__).parent))
from oauth_servers.fixtures import github_provider, oidc_provider
from stripe_fixtures import localstripe

__all__ = ["github_provider", "localstripe", "oidc_provider"]

MIGRATIONS = Path(__file__).parents[1] / "migrations"
BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/142.0.0.0 Safari/537.36"
)
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def users_database(fresh_database: ScratchDatabase) -> ScratchDatabase:
    return fresh_database.migrated(MIGRATIONS)


@pytest.fixture
def settings_factory(
    users_database: ScratchDatabase, redis_url: str, kafka_bootstrap: str
) -> Callable[..., UsersSettings]:
    def make(**overrides: Any) -> UsersSettings:
        values: dict[str, Any] = {
            "env": "test",
            "database_url": users_database.primary_url,
            "database_replica_url": users_database.replica_url,
            "redis_url": redis_url,
            "kafka_bootstrap_servers": kafka_bootstrap,
            # Tests are many people on few addresses; the risk tests set these back.
            "risk_min_form_fill_seconds": 0.0,
            "risk_ip_registrations_per_hour": 10_000,
            "risk_fingerprint_registrations_per_hour": 10_000,
            "log_json": True,
        }
        values.update(overrides)
        return UsersSettings(**values)

    return make


def random_loopback() -> str:
    """A distinct peer address per simulated client; all of 127/8 is this machine."""
    return f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(1, 254)}"


def unique_email(domain: str | None = None) -> str:
    return f"user-{uuid.uuid4().hex[:12]}@{domain or uuid.uuid4().hex[:8] + '.example.org'}"


def claims_of_token(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified: for looking at what we issued."""
    import base64

    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


@dataclass
class Tokens:
    access: str
    refresh: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


@dataclass
class Listener:
    """One simulated browser: its own address, fingerprint and HTTP client."""

    http: httpx.AsyncClient
    ip: str
    fingerprint: str = field(default_factory=lambda: secrets.token_hex(16))

    async def form_token(self) -> str:
        response = await self.http.get("/auth/form-token")
        assert response.status_code == 200, response.text
        token: str = response.json()["form_token"]
        return token

    async def register(
        self, email: str | None = None, password: str = PASSWORD, **extra: Any
    ) -> httpx.Response:
        body = {
            "email": email or unique_email(),
            "password": password,
            "display_name": "Ada Listener",
            "form_token": await self.form_token(),
            **extra,
        }
        return await self.http.post(
            "/auth/register", json=body, headers={"X-Device-Fingerprint": self.fingerprint}
        )

    async def signed_up(self, email: str | None = None, password: str = PASSWORD) -> Tokens:
        response = await self.register(email, password)
        assert response.status_code == 201, response.text
        tokens = response.json()["tokens"]
        return Tokens(tokens["access_token"], tokens["refresh_token"])

    async def login(self, email: str, password: str = PASSWORD, **extra: Any) -> httpx.Response:
        body = {"email": email, "password": password, "form_token": await self.form_token()}
        body.update(extra)
        return await self.http.post(
            "/auth/login", json=body, headers={"X-Device-Fingerprint": self.fingerprint}
        )

    async def logged_in(self, email: str, password: str = PASSWORD) -> Tokens:
        response = await self.login(email, password)
        assert response.status_code == 200, response.text
        body = response.json()
        return Tokens(body["access_token"], body["refresh_token"])


@asynccontextmanager
async def serve(app: Any, ip: str | None = None) -> AsyncIterator[Listener]:
    address = ip or random_loopback()
    async with running_app(
        app,
        client_address=(address, 41000),
        headers={"User-Agent": BROWSER_UA, "Accept-Language": "en-GB,en;q=0.8"},
    ) as http:
        yield Listener(http=http, ip=address)


@pytest.fixture
def users_app(
    settings_factory: Callable[..., UsersSettings],
) -> Callable[..., AbstractAsyncContextManager[Listener]]:
    """``async with users_app(**settings) as listener``: an app without workers, and a client."""

    def start(ip: str | None = None, **overrides: Any) -> AbstractAsyncContextManager[Listener]:
        app = create_users_app(settings_factory(**overrides), run_workers=False)
        return serve(app, ip)

    return start


@pytest.fixture
async def listener(
    users_app: Callable[..., AbstractAsyncContextManager[Listener]],
) -> AsyncIterator[Listener]:
    async with users_app() as client:
        yield client


async def outbox_payloads(database: ScratchDatabase, topic: str) -> list[dict[str, Any]]:
    """The payloads this service's outbox holds for ``topic``, oldest first."""
    import asyncpg

    connection = await asyncpg.connect(database.primary_dsn)
    try:
        rows = await connection.fetch(
            "SELECT payload FROM outbox WHERE topic = $1 ORDER BY id", topic
        )
    finally:
        await connection.close()
    return [json.loads(row["payload"]) for row in rows]


def token_from_link(link: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(link).query)["token"][0]


async def make_admin(database: ScratchDatabase, email: str) -> None:
    """Promotes an account directly in the database: the first admin has nobody to ask."""
    import asyncpg

    connection = await asyncpg.connect(database.primary_dsn)
    try:
        await connection.execute(
            "UPDATE users SET roles = ARRAY['USER', 'ADMIN']::varchar[]"
            " WHERE email_normalized = $1",
            email.lower(),
        )
    finally:
        await connection.close()
