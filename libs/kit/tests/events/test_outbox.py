"""The outbox and its relay against real PostgreSQL and Kafka, with real SIGKILLs."""

import asyncio
import signal
from collections.abc import Callable
from subprocess import Popen
from uuid import UUID

import pytest
from eventsupport import NumberedV1, tables
from kit_events_support import read_topic, run_until
from sqlalchemy import func, select

from spotilike.kit.db import Database
from spotilike.kit.events import (
    CloudEvent,
    ConsumerRunner,
    Outbox,
    OutboxRelay,
    idempotent_producer,
)
from spotilike.tools.pytest_plugin import ScratchDatabase, ScratchTopics

pytestmark = pytest.mark.integration

TOPIC = NumberedV1.topic


async def _add_events(database: Database, outbox: Outbox, numbers: range) -> list[UUID]:
    ids = []
    async with database.transaction() as session:
        for n in numbers:
            event = await outbox.add(session, NumberedV1(number=n), key=f"agg-{n % 4}")
            ids.append(event.id)
    return ids


async def _unpublished(database: Database) -> int:
    async with database.write_session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(tables.outbox)
            .where(tables.outbox.c.published_at.is_(None))
        )
    return int(count or 0)


async def _wait_until_published(database: Database, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await _unpublished(database) and loop.time() < deadline:
        await asyncio.sleep(0.1)
    assert await _unpublished(database) == 0, "the relay left rows unpublished"


async def _wait_for_exit(process: Popen[bytes], timeout: float = 30.0) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while process.poll() is None and loop.time() < deadline:
        await asyncio.sleep(0.05)
    assert process.returncode is not None, "the process did not exit"
    return process.returncode


async def test_a_rolled_back_transaction_publishes_nothing(
    database: Database, kafka_topics: ScratchTopics, kafka_bootstrap: str
) -> None:
    (topic,) = await kafka_topics.create(TOPIC)
    outbox = Outbox(tables, source="kit-test", topic_prefix=kafka_topics.prefix)
    with pytest.raises(RuntimeError, match="use case failed"):
        async with database.transaction() as session:
            await outbox.add(session, NumberedV1(number=1), key="k")
            raise RuntimeError("use case failed")
    await _add_events(database, outbox, range(2, 3))

    producer = idempotent_producer(kafka_bootstrap, client_id="rollback-test")
    await producer.start()
    try:
        relay = OutboxRelay(database=database, tables=tables, producer=producer, service="t")
        assert await relay.publish_batch() == 1
        assert await relay.publish_batch() == 0
    finally:
        await producer.stop()

    records = await read_topic(kafka_bootstrap, topic, expected=1)
    numbers = [NumberedV1.model_validate_json(r.value).number for r in records]
    assert numbers == [2]


async def test_relay_publishes_in_order_with_cloudevent_headers(
    database: Database, kafka_topics: ScratchTopics, kafka_bootstrap: str
) -> None:
    (topic,) = await kafka_topics.create(TOPIC, partitions=3)
    outbox = Outbox(tables, source="kit-test", topic_prefix=kafka_topics.prefix)
    ids = await _add_events(database, outbox, range(40))
    producer = idempotent_producer(kafka_bootstrap, client_id="order-test")
    await producer.start()
    try:
        relay = OutboxRelay(database=database, tables=tables, producer=producer, service="t")
        assert await relay.publish_batch() == 40
    finally:
        await producer.stop()

    records = await read_topic(kafka_bootstrap, topic, expected=40)
    events = [CloudEvent.from_kafka(r.headers, r.value) for r in records]
    assert sorted(e.id for e in events) == sorted(ids)
    assert {e.type for e in events} == {"kit-test.numbered.v1"}
    by_key: dict[bytes, list[int]] = {}
    for record in records:
        by_key.setdefault(record.key, []).append(
            NumberedV1.model_validate_json(record.value).number
        )
    for numbers in by_key.values():
        assert numbers == sorted(numbers), "one aggregate's events arrived out of order"


async def test_relay_killed_after_claiming_publishes_once_restarted(
    database: Database,
    events_database: ScratchDatabase,
    kafka_topics: ScratchTopics,
    kafka_bootstrap: str,
    spawn: Callable[..., Popen[bytes]],
) -> None:
    (topic,) = await kafka_topics.create(TOPIC)
    outbox = Outbox(tables, source="kit-test", topic_prefix=kafka_topics.prefix)
    ids = await _add_events(database, outbox, range(25))

    crashing = spawn("relay", events_database.primary_url, kafka_bootstrap, "after_claim")
    assert await _wait_for_exit(crashing) == -signal.SIGKILL
    assert await _unpublished(database) == 25

    spawn("relay", events_database.primary_url, kafka_bootstrap)
    await _wait_until_published(database)
    records = await read_topic(kafka_bootstrap, topic, expected=25)
    assert sorted(CloudEvent.from_kafka(r.headers, r.value).id for r in records) == sorted(ids)


async def test_relay_killed_after_publishing_duplicates_and_the_consumer_absorbs_it(
    database: Database,
    events_database: ScratchDatabase,
    kafka_topics: ScratchTopics,
    kafka_bootstrap: str,
    spawn: Callable[..., Popen[bytes]],
    consumer: Callable[..., ConsumerRunner],
) -> None:
    from eventsupport import effects, record_effect

    (topic,) = await kafka_topics.create(TOPIC)
    outbox = Outbox(tables, source="kit-test", topic_prefix=kafka_topics.prefix)
    await _add_events(database, outbox, range(10))

    crashing = spawn("relay", events_database.primary_url, kafka_bootstrap, "after_publish")
    assert await _wait_for_exit(crashing) == -signal.SIGKILL
    assert await _unpublished(database) == 10, "the crashed relay must not have marked rows"

    spawn("relay", events_database.primary_url, kafka_bootstrap)
    await _wait_until_published(database)
    records = await read_topic(kafka_bootstrap, topic, expected=20)
    assert len(records) == 20, "each event should have been published twice"

    runner = consumer("absorb", {topic: record_effect})
    await run_until(runner, lambda: runner.handled >= 20)
    async with database.write_session() as session:
        numbers = (await session.scalars(select(effects.c.number))).all()
    assert sorted(numbers) == list(range(10))
