import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from spotilike.kit.db import Database
from spotilike.kit.events import ConsumerRunner, Handler
from spotilike.tools.pytest_plugin import ScratchDatabase, ScratchTopics

sys.path.insert(0, str(Path(__file__).parent))
import eventsupport

SUPPORT = Path(__file__).parent / "eventsupport.py"


@pytest.fixture(scope="module")
def events_database(fresh_database: ScratchDatabase) -> ScratchDatabase:
    async def create() -> None:
        engine = create_async_engine(fresh_database.primary_url)
        async with engine.begin() as connection:
            await connection.run_sync(eventsupport.metadata.create_all)
        await engine.dispose()

    asyncio.run(create())
    return fresh_database


@pytest.fixture
async def database(events_database: ScratchDatabase) -> AsyncIterator[Database]:
    db = Database(primary_url=events_database.primary_url)
    async with db.transaction() as session:
        await session.execute(text("TRUNCATE outbox, processed_events, effects"))
    yield db
    await db.dispose()


@pytest.fixture
def consumer(
    database: Database, kafka_topics: ScratchTopics, kafka_bootstrap: str
) -> Callable[..., ConsumerRunner]:
    """Builds an in-process consumer on the test's database, with a group of its own."""

    def make(name: str, handlers: Mapping[str, Handler], **options: Any) -> ConsumerRunner:
        return ConsumerRunner(
            group=kafka_topics.prefix + name,
            bootstrap_servers=kafka_bootstrap,
            database=database,
            tables=eventsupport.tables,
            handlers=handlers,
            **options,
        )

    return make


@pytest.fixture
def spawn(events_database: ScratchDatabase) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Starts eventsupport.py in its own process; every process is killed at teardown."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, str(SUPPORT), *args],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)


async def read_topic(
    bootstrap: str, topic: str, *, expected: int, timeout: float = 30.0
) -> list[ConsumerRecord]:
    """Reads a topic from the start until ``expected`` records arrived or time ran out,
    then keeps listening briefly so that extra (duplicate) records are seen too."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline and len(records) < expected:
            batch = await consumer.getmany(timeout_ms=200)
            for partition_records in batch.values():
                records.extend(partition_records)
        grace = loop.time() + 1.0
        while loop.time() < grace:
            batch = await consumer.getmany(timeout_ms=200)
            for partition_records in batch.values():
                records.extend(partition_records)
    finally:
        await consumer.stop()
    return records


async def run_until(runner: ConsumerRunner, done: Callable[[], bool], timeout: float = 45) -> None:
    """Runs the consumer in this process until ``done()`` holds, then stops it cleanly."""
    task = asyncio.create_task(runner.run())
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done() and loop.time() < deadline and not task.done():
            await asyncio.sleep(0.05)
    finally:
        runner.stop()
        await task
    assert done(), "the consumer did not get through the messages in time"
