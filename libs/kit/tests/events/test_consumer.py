"""The consumer runner against real Kafka and PostgreSQL: duplicates, poison, SIGKILL."""

import asyncio
import signal
from collections.abc import Callable, Sequence
from subprocess import Popen

import pytest
from aiokafka import AIOKafkaProducer
from eventsupport import NumberedV1, effects, record_effect
from kit_events_support import read_topic, run_until
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.contracts import EventData
from spotilike.kit.db import Database
from spotilike.kit.events import CloudEvent, ConsumerRunner, RetryPolicy
from spotilike.tools.pytest_plugin import ScratchDatabase, ScratchTopics

pytestmark = pytest.mark.integration


def _event(number: int) -> CloudEvent:
    return CloudEvent.create(NumberedV1(number=number), source="kit-test")


async def _produce(bootstrap: str, topic: str, events: Sequence[CloudEvent]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=20)
    await producer.start()
    try:
        acks = [
            await producer.send(
                topic,
                value=e.data,
                key=str(NumberedV1.model_validate_json(e.data).number % 8).encode(),
                headers=e.kafka_headers(),
            )
            for e in events
        ]
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


async def _effect_numbers(database: Database) -> list[int]:
    async with database.write_session() as session:
        return list((await session.scalars(select(effects.c.number))).all())


async def test_duplicate_delivery_has_one_effect(
    database: Database,
    kafka_topics: ScratchTopics,
    kafka_bootstrap: str,
    consumer: Callable[..., ConsumerRunner],
) -> None:
    (topic,) = await kafka_topics.create(NumberedV1.topic)
    first, second = _event(1), _event(2)
    await _produce(kafka_bootstrap, topic, [first, first, second, first])
    runner = consumer("dup", {topic: record_effect})
    await run_until(runner, lambda: runner.handled >= 4)
    assert sorted(await _effect_numbers(database)) == [1, 2]


async def test_poison_message_is_retried_then_dead_lettered_and_the_partition_flows_on(
    database: Database,
    kafka_topics: ScratchTopics,
    kafka_bootstrap: str,
    consumer: Callable[..., ConsumerRunner],
) -> None:
    topic, dlq = await kafka_topics.create(NumberedV1.topic, NumberedV1.topic + ".dlq")
    attempts: dict[int, int] = {}

    async def fragile(session: AsyncSession, event: CloudEvent, payload: EventData) -> None:
        assert isinstance(payload, NumberedV1)
        attempts[payload.number] = attempts.get(payload.number, 0) + 1
        await session.execute(insert(effects).values(number=payload.number, event_id=event.id))
        if payload.number == 13:
            raise ValueError("thirteen is unlucky")

    await _produce(kafka_bootstrap, topic, [_event(12), _event(13), _event(14)])
    runner = consumer(
        "poison",
        {topic: fragile},
        retry=RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05),
    )
    await run_until(runner, lambda: runner.handled >= 3)

    assert attempts == {12: 1, 13: 4, 14: 1}
    assert sorted(await _effect_numbers(database)) == [12, 14], "a failed attempt left an effect"
    (dead,) = await read_topic(kafka_bootstrap, dlq, expected=1)
    headers = dict(dead.headers)
    assert headers["dlq_error"] == b"ValueError: thirteen is unlucky"
    assert headers["dlq_attempts"] == b"4"
    assert headers["dlq_source_topic"] == topic.encode()
    assert NumberedV1.model_validate_json(dead.value).number == 13
    assert CloudEvent.from_kafka(dead.headers, dead.value).type == "kit-test.numbered.v1"


async def test_a_message_that_is_not_a_cloudevent_goes_straight_to_the_dlq(
    database: Database,
    kafka_topics: ScratchTopics,
    kafka_bootstrap: str,
    consumer: Callable[..., ConsumerRunner],
) -> None:
    topic, dlq = await kafka_topics.create(NumberedV1.topic, NumberedV1.topic + ".dlq")
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=b"{not json", key=b"x")
    finally:
        await producer.stop()
    await _produce(kafka_bootstrap, topic, [_event(7)])
    runner = consumer("garbage", {topic: record_effect})
    await run_until(runner, lambda: runner.handled >= 2)
    (dead,) = await read_topic(kafka_bootstrap, dlq, expected=1)
    assert dict(dead.headers)["dlq_attempts"] == b"0"
    assert b"missing headers" in dict(dead.headers)["dlq_error"]
    assert await _effect_numbers(database) == [7]


@pytest.mark.slow
async def test_ten_thousand_events_survive_three_sigkills_with_no_double_effects(
    database: Database,
    events_database: ScratchDatabase,
    kafka_topics: ScratchTopics,
    kafka_bootstrap: str,
    spawn: Callable[..., Popen[bytes]],
) -> None:
    total = 10_000
    (topic,) = await kafka_topics.create(NumberedV1.topic, partitions=4)
    await _produce(kafka_bootstrap, topic, [_event(n) for n in range(total)])
    group = kafka_topics.prefix + "sigkill"

    async def applied() -> int:
        async with database.write_session() as session:
            return int(await session.scalar(select(func.count()).select_from(effects)) or 0)

    async def wait_for(target: int, timeout: float = 120) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while await applied() < target:
            assert loop.time() < deadline, f"stuck below {target} effects"
            await asyncio.sleep(0.05)

    for kill_at in (1_500, 4_000, 7_000):
        consumer = spawn("consume", events_database.primary_url, kafka_bootstrap, group, topic)
        await wait_for(kill_at)
        consumer.send_signal(signal.SIGKILL)
        consumer.wait(timeout=10)
    final = spawn("consume", events_database.primary_url, kafka_bootstrap, group, topic)
    await wait_for(total)
    await asyncio.sleep(2)  # room for a double effect to show up, if there were one
    final.send_signal(signal.SIGTERM)
    assert final.wait(timeout=30) == 0

    numbers = await _effect_numbers(database)
    assert len(numbers) == total, f"{len(numbers) - len(set(numbers))} double effects"
    assert set(numbers) == set(range(total))


async def test_the_handler_runs_in_the_producers_trace_with_its_request_id(
    database: Database,
    kafka_topics: ScratchTopics,
    kafka_bootstrap: str,
    consumer: Callable[..., ConsumerRunner],
) -> None:
    from opentelemetry import trace

    from spotilike.kit.context import current_request_id

    (topic,) = await kafka_topics.create(NumberedV1.topic)
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    event = CloudEvent.create(
        NumberedV1(number=5),
        source="kit-test",
        extensions={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01", "requestid": "req-42"},
    )
    seen: dict[str, object] = {}

    async def observe(session: AsyncSession, event: CloudEvent, payload: EventData) -> None:
        seen["trace_id"] = format(trace.get_current_span().get_span_context().trace_id, "032x")
        seen["request_id"] = current_request_id()

    await _produce(kafka_bootstrap, topic, [event])
    runner = consumer("trace", {topic: observe})
    await run_until(runner, lambda: runner.handled >= 1)
    assert seen == {"trace_id": trace_id, "request_id": "req-42"}
