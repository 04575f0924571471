"""Shared pieces of the event tests: a test-only event, its tables, and process entry points.

Run as a script, it is the relay or the consumer in a separate process, so the tests can
SIGKILL it at the worst moments:

    python eventsupport.py relay <primary_url> <bootstrap> [after_claim|after_publish]
    python eventsupport.py consume <primary_url> <bootstrap> <group> <topic>
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence

from sqlalchemy import BigInteger, Column, Integer, Table, insert
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.contracts import EventData
from spotilike.kit.db import Database, service_metadata
from spotilike.kit.events import (
    CloudEvent,
    ConsumerRunner,
    OutboxRelay,
    RetryPolicy,
    idempotent_producer,
    messaging_tables,
)


class NumberedV1(EventData):
    topic = "kit-test.numbered"
    number: int


metadata = service_metadata()
tables = messaging_tables(metadata)
effects = Table(
    "effects",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("number", Integer, nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
)
"""No unique constraint on purpose: a double effect must be countable, not rejected."""


async def record_effect(session: AsyncSession, event: CloudEvent, payload: EventData) -> None:
    assert isinstance(payload, NumberedV1)
    await session.execute(insert(effects).values(number=payload.number, event_id=event.id))


async def _kill_self(_ids: Sequence[int]) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def run_relay(primary_url: str, bootstrap: str, crash_at: str | None) -> None:
    database = Database(primary_url=primary_url)
    producer = idempotent_producer(bootstrap, client_id="kit-test-relay")
    await producer.start()
    relay = OutboxRelay(
        database=database,
        tables=tables,
        producer=producer,
        service="kit-test",
        poll_interval=0.2,
        after_claim=_kill_self if crash_at == "after_claim" else None,
        after_publish=_kill_self if crash_at == "after_publish" else None,
    )
    try:
        await relay.run()
    finally:
        await producer.stop()
        await database.dispose()


async def run_consumer(primary_url: str, bootstrap: str, group: str, topic: str) -> None:
    database = Database(primary_url=primary_url)
    runner = ConsumerRunner(
        group=group,
        bootstrap_servers=bootstrap,
        database=database,
        tables=tables,
        handlers={topic: record_effect},
        retry=RetryPolicy(max_attempts=3, base_delay=0.05),
        session_timeout_ms=6000,
    )
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, runner.stop)
    try:
        await runner.run()
    finally:
        await database.dispose()


if __name__ == "__main__":
    role, *args = sys.argv[1:]
    if role == "relay":
        asyncio.run(run_relay(args[0], args[1], args[2] if len(args) > 2 else None))
    elif role == "consume":
        asyncio.run(run_consumer(*args))
    else:
        raise SystemExit(f"unknown role {role!r}")
