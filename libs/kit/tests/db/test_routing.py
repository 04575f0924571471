"""Primary/replica routing against the real primary and its streaming replica."""

from collections.abc import AsyncIterator

import pytest
from fastapi import APIRouter
from httpx import ASGITransport, AsyncClient
from redis.asyncio import Redis
from sqlalchemy import Column, Integer, String, Table, insert, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from spotilike.kit.app import create_app
from spotilike.kit.db import Database, ReadSession, RecentWriters, WriteSession, service_metadata
from spotilike.kit.settings import ServiceSettings
from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration

metadata = service_metadata()
notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("body", String(200), nullable=False),
)


@pytest.fixture(scope="module", autouse=True)
def _schema(fresh_database: ScratchDatabase) -> None:
    import asyncio

    async def create() -> None:
        engine = create_async_engine(fresh_database.primary_url)
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        await engine.dispose()
        await fresh_database.replica_caught_up()

    asyncio.run(create())


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def database(fresh_database: ScratchDatabase, redis: Redis) -> AsyncIterator[Database]:
    db = Database(
        primary_url=fresh_database.primary_url,
        replica_url=fresh_database.replica_url,
        recent_writers=RecentWriters(redis, namespace="test-routing", window_seconds=30),
    )
    yield db
    await db.dispose()


async def _in_recovery(session: object) -> bool:
    return bool(await session.scalar(text("SELECT pg_is_in_recovery()")))  # type: ignore[attr-defined]


async def test_plain_reads_run_on_the_replica(database: Database) -> None:
    async with await database.read_session() as session:
        assert await _in_recovery(session) is True


async def test_writes_run_on_the_primary(database: Database) -> None:
    async with database.transaction() as session:
        assert await _in_recovery(session) is False
        await session.execute(insert(notes).values(body="on the primary"))


async def test_a_caller_who_just_wrote_reads_from_the_primary(database: Database) -> None:
    async with database.transaction(caller="alice") as session:
        await session.execute(insert(notes).values(id=1001, body="alice's note"))
    async with await database.read_session("alice") as session:
        assert await _in_recovery(session) is False
        assert (
            await session.scalar(select(notes.c.body).where(notes.c.id == 1001)) == "alice's note"
        )
    async with await database.read_session("bob") as session:
        assert await _in_recovery(session) is True


async def test_a_rolled_back_write_does_not_route_the_caller_to_the_primary(
    database: Database,
) -> None:
    with pytest.raises(RuntimeError):
        async with database.transaction(caller="carol") as session:
            await session.execute(insert(notes).values(body="never saved"))
            raise RuntimeError("use case failed")
    async with await database.read_session("carol") as session:
        assert await _in_recovery(session) is True


def _app(fresh_database: ScratchDatabase, redis_url: str) -> object:
    router = APIRouter()

    @router.post("/notes", status_code=201)
    async def create_note(body: dict[str, str], session: WriteSession) -> dict[str, int]:
        result = await session.execute(
            insert(notes).values(body=body["body"]).returning(notes.c.id)
        )
        return {"id": int(result.scalar_one())}

    @router.get("/notes/{note_id}")
    async def read_note(note_id: int, session: ReadSession) -> dict[str, object]:
        body = await session.scalar(select(notes.c.body).where(notes.c.id == note_id))
        return {"body": body, "replica": await _in_recovery(session)}

    settings = ServiceSettings(
        service_name="routing-test",
        database_url=fresh_database.primary_url,
        database_replica_url=fresh_database.replica_url,
        redis_url=redis_url,
        log_json=False,
    )
    return create_app(settings, title="routing test", routers=[router])


async def test_read_your_writes_through_the_request_dependencies(
    fresh_database: ScratchDatabase, redis_url: str
) -> None:
    app = _app(fresh_database, redis_url)
    async with app.router.lifespan_context(app):  # type: ignore[attr-defined]
        transport = ASGITransport(app=app)  # type: ignore[arg-type]
        async with AsyncClient(transport=transport, base_url="http://test") as client:
            writer = {"Authorization": "Bearer writer-session"}
            created = await client.post("/notes", json={"body": "fresh"}, headers=writer)
            assert created.status_code == 201
            note_id = created.json()["id"]

            mine = await client.get(f"/notes/{note_id}", headers=writer)
            assert mine.json() == {"body": "fresh", "replica": False}

            other = await client.get(f"/notes/{note_id}", headers={"Authorization": "Bearer x"})
            assert other.json()["replica"] is True
