"""The Spotilike pytest plugin: real infrastructure for integration tests.

The first test that asks for the stack brings it up (or reuses one that is already running
on the configured ports) and, when this run started it, stops it at the end. With
``SPOTILIKE_TEST_EXTERNAL_STACK=1`` the plugin trusts that the servers are already up on the
configured ports and starts nothing.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
import uvicorn
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from jwt.algorithms import RSAAlgorithm

from spotilike.kit.auth import JwksCache, TokenVerifier
from spotilike.kit.migrations import drop_database, ensure_database, upgrade
from spotilike.tools.stack.config import StackConfig, StackEndpoints
from spotilike.tools.stack.smtp import MailStore, SmtpSink

__all__ = [
    "FRAMING_HEADERS",
    "ScratchDatabase",
    "ScratchTopics",
    "SmtpTestServer",
    "TokenIssuer",
    "drop_framing_headers",
    "fresh_database",
    "kafka_bootstrap",
    "kafka_topics",
    "redis_url",
    "running_app",
    "served_in_thread",
    "smtp_sink",
    "stack",
    "token_issuer",
    "wait_for_replica",
]


@pytest.fixture(scope="session")
def stack() -> Iterator[StackEndpoints]:
    config = StackConfig.from_env()
    if os.environ.get("SPOTILIKE_TEST_EXTERNAL_STACK") == "1":
        yield config.endpoints
        return
    from spotilike.tools.stack.manager import Stack  # noqa: PLC0415 - heavy, only when needed

    local_stack = Stack(config)
    started_here = local_stack.up()
    try:
        yield local_stack.endpoints
    finally:
        if started_here:
            local_stack.down()


@pytest.fixture(scope="session")
def redis_url(stack: StackEndpoints) -> str:
    return stack.redis_url


@pytest.fixture(scope="session")
def kafka_bootstrap(stack: StackEndpoints) -> str:
    return stack.kafka_bootstrap


@dataclass(frozen=True)
class ScratchDatabase:
    name: str
    primary_url: str
    replica_url: str
    """SQLAlchemy async URLs (``postgresql+asyncpg://``) of the same database on both servers."""
    primary_dsn: str
    replica_dsn: str
    """The same, as plain libpq DSNs for asyncpg and psql."""

    async def replica_caught_up(self) -> None:
        await wait_for_replica(self.primary_dsn, self.replica_dsn)

    def migrated(self, migrations: Path) -> ScratchDatabase:
        """Runs a service's migrations here and waits until the replica has them too: what
        each service's module-scoped database fixture needs before its first test."""
        upgrade(migrations, self.primary_url)
        asyncio.run(self.replica_caught_up())
        return self


def _asyncpg_dsn(libpq_dsn: str, database: str) -> str:
    return libpq_dsn.rsplit("/", 1)[0] + "/" + database


async def wait_for_replica(primary_dsn: str, replica_dsn: str, *, timeout: float = 15.0) -> None:
    """Returns once the replica has replayed everything the primary had written so far."""
    primary = await asyncpg.connect(primary_dsn)
    try:
        target = await primary.fetchval("SELECT pg_current_wal_lsn()")
    finally:
        await primary.close()
    replica = await asyncpg.connect(replica_dsn)
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while not await replica.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", target):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"the replica did not replay up to {target} in {timeout}s")
            await asyncio.sleep(0.02)
    finally:
        await replica.close()


@pytest.fixture(scope="module")
def fresh_database(
    stack: StackEndpoints, request: pytest.FixtureRequest
) -> Iterator[ScratchDatabase]:
    """An empty database for one test module, on the primary and (streamed) the replica.

    The module migrates it (a service runs its Alembic migrations, the kit's own tests
    create their tables); it is dropped when the module is done.
    """
    module = re.sub(r"[^a-z0-9]+", "_", request.module.__name__.rsplit(".", 1)[-1].lower())
    name = f"t_{module[:40]}_{uuid.uuid4().hex[:8]}"
    primary_url = stack.sqlalchemy_url(name)
    asyncio.run(ensure_database(primary_url))
    asyncio.run(wait_for_replica(stack.postgres_dsn, stack.postgres_replica_dsn))
    try:
        yield ScratchDatabase(
            name=name,
            primary_url=primary_url,
            replica_url=stack.sqlalchemy_url(name, replica=True),
            primary_dsn=_asyncpg_dsn(stack.postgres_dsn, name),
            replica_dsn=_asyncpg_dsn(stack.postgres_replica_dsn, name),
        )
    finally:
        asyncio.run(drop_database(primary_url))


@dataclass(frozen=True)
class ScratchTopics:
    """Topics that exist only for one test, named ``<prefix><registry name>``."""

    prefix: str
    bootstrap_servers: str

    def name(self, topic: str) -> str:
        return self.prefix + topic

    async def create(self, *topics: str, partitions: int = 1) -> list[str]:
        names = [self.name(t) for t in topics]
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        await admin.start()
        try:
            await admin.create_topics(
                [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names]
            )
        finally:
            await admin.close()
        return names


@pytest.fixture
def kafka_topics(kafka_bootstrap: str) -> ScratchTopics:
    """A unique topic prefix per test, so tests on one broker never see each other's events."""
    return ScratchTopics(prefix=f"t{uuid.uuid4().hex[:10]}.", bootstrap_servers=kafka_bootstrap)


@asynccontextmanager
async def running_app(
    app: Any,
    *,
    client_address: tuple[str, int] = ("127.0.0.1", 40000),
    headers: Mapping[str, str] | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on an ASGI app whose lifespan (workers, pools) runs around it.

    ``client_address`` is the peer the app sees, so tests of per-IP limits can be many
    clients without sending a packet anywhere.
    """
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=client_address)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=dict(headers or {})
        ) as client:
            yield client


@contextmanager
def served_in_thread(app: Any, *, start_timeout: float = 30.0, port: int = 0) -> Iterator[str]:
    """The base URL of ``app`` served by a real uvicorn on a loopback port (a free one
    unless ``port`` says which: a service that registers itself knows its port before its
    app is built), in a thread, lifespan included: for clients that need real HTTP."""
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.bind(("127.0.0.1", port))
    port = listening.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="on", log_config=None, access_log=False, proxy_headers=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start the app; see the log above")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=start_timeout)
        listening.close()


class SmtpTestServer:
    """A real SMTP server (the stack's sink, aiosmtpd) on a free loopback port, in a thread.

    It keeps every message it accepts and can refuse the next ones on cue, with whatever
    reply a test scripts (``"451 4.3.0 Try again later"``, ``"554 5.7.1 Rejected"``).
    """

    def __init__(self, root: Path) -> None:
        self.store = MailStore(root)
        self.host = "127.0.0.1"
        with socket.socket() as probe:
            probe.bind((self.host, 0))
            self.port: int = probe.getsockname()[1]
        self.deliveries = 0
        """Messages offered to it (DATA ended), refused ones included."""
        self._refusals: deque[str] = deque()
        self._sink = SmtpSink(self.store, host=self.host, port=self.port, reply=self._reply)

    def refuse(self, reply: str, *, times: int = 1) -> None:
        self._refusals.extend([reply] * times)

    def messages(self) -> list[EmailMessage]:
        return [mail.message() for mail in self.store.all()]

    def _reply(self, _envelope: object) -> str | None:
        self.deliveries += 1
        return self._refusals.popleft() if self._refusals else None

    def __enter__(self) -> SmtpTestServer:
        self._sink.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._sink.__exit__(*exc)


@pytest.fixture
def smtp_sink(tmp_path: Path) -> Iterator[SmtpTestServer]:
    """An SMTP server for one test: what it kept is in ``.messages()``."""
    with SmtpTestServer(tmp_path / "smtp-sink") as server:
        yield server


FRAMING_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "host", "connection", "expect", "upgrade", "te"}
)
"""Headers the HTTP server (uvicorn/h11) owns: it answers a forged one with its own
plain-text 400 before the app sees the request, so a fuzzer must not set them."""


def drop_framing_headers(headers: dict[str, Any] | None) -> None:
    for name in list(headers or {}):
        if name.lower() in FRAMING_HEADERS:
            del headers[name]  # type: ignore[union-attr]


class TokenIssuer:
    """Signs access tokens the way the users service does, for other services' tests.

    ``verifier()`` is a :class:`TokenVerifier` that trusts exactly this issuer's key, so a
    service under test needs no users service to authenticate requests.
    """

    issuer = "https://spotilike.dev/users"
    audience = "spotilike"

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-" + uuid.uuid4().hex[:8]

    def jwks(self) -> dict[str, Any]:
        public: dict[str, Any] = RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def verifier(self) -> TokenVerifier:
        async def fetch() -> dict[str, Any]:
            return self.jwks()

        return TokenVerifier(
            issuer=self.issuer, audience=self.audience, keys=JwksCache(fetch), denylist=None
        )

    def token(
        self, subject: str | None = None, *, roles: tuple[str, ...] = ("USER",), **claims: Any
    ) -> str:
        now = int(time.time())
        body = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject or str(uuid.uuid4()),
            "roles": sorted(roles),
            "jti": uuid.uuid4().hex,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            **claims,
        }
        return jwt.encode(
            body, self._key, algorithm="RS256", headers={"kid": self.kid, "typ": "at+jwt"}
        )

    def headers(self, subject: str | None = None, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": "Bearer " + self.token(subject, **kwargs)}


@pytest.fixture(scope="session")
def token_issuer() -> TokenIssuer:
    return TokenIssuer()


# Hypothesis' per-example deadline is a timed assertion, and this 2-core machine is
# shared: a slow example says nothing about the code. Tests keep their example counts.
hypothesis_settings.register_profile("spotilike", deadline=None)
hypothesis_settings.load_profile("spotilike")


def fuzz_settings(max_examples: int = 25) -> hypothesis_settings:
    """Hypothesis settings for a schemathesis run against a served app. Its server and data
    are set up once per operation on purpose (function_scoped_fixture), every example is
    a real HTTP round trip (too_slow), and tight schemas reject many drawn examples
    (filter_too_much)."""
    return hypothesis_settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
        ],
    )


TIERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test belongs to exactly one tier, so `-m unit` really runs without servers."""
    wrong = []
    for item in items:
        tiers = [tier for tier in TIERS if item.get_closest_marker(tier) is not None]
        if len(tiers) != 1:
            wrong.append(f"{item.nodeid}: {tiers or 'no tier'}")
    if wrong:
        raise pytest.UsageError(
            "each test needs exactly one of the markers unit, integration, e2e:\n  "
            + "\n  ".join(wrong)
        )
