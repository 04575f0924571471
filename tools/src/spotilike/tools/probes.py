"""How integration tests poke the running system and watch what it does.

``publish_event`` puts an event on Kafka exactly as a producing service would (CloudEvents
binary mode), ``collect_events`` reads what a service emitted, ``eventually`` waits
for an asynchronous effect without a fixed sleep, ``schema_drift`` lists what a
migrated database lacks or has beyond a service's models, and ``decode_hls`` plays a
stream with FFmpeg as an HLS client would.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Awaitable, Callable

import imageio_ffmpeg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from spotilike.contracts.events.base import EventData
from spotilike.kit.events import CloudEvent

__all__ = [
    "PCM_BYTES_PER_SECOND",
    "collect_events",
    "decode_hls",
    "eventually",
    "find_event",
    "publish_event",
    "schema_drift",
]

PCM_BYTES_PER_SECOND = 44_100 * 2 * 2
"""What ``decode_hls`` puts out per second of audio: 44.1 kHz, stereo, 16 bits."""


def decode_hls(
    master_url: str, *, token: str, stream: str = "0:a:0"
) -> subprocess.CompletedProcess[bytes]:
    """Plays ``master_url`` with FFmpeg, sending ``token`` as a bearer token on every
    request, and decodes the ``stream`` it selects (``-map``) to raw PCM: ``stdout`` is
    the audio, ``stderr`` FFmpeg's errors."""
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error",
        "-headers", f"Authorization: Bearer {token}\r\n",
        "-protocol_whitelist", "http,tcp,hls",
        "-i", master_url, "-map", stream,
        "-f", "s16le", "-ac", "2", "-ar", "44100", "pipe:1",
    ]  # fmt: skip
    return subprocess.run(  # noqa: S603 - the bundled FFmpeg, argv built here, no shell
        command, capture_output=True, timeout=120, check=False
    )


async def publish_event(
    bootstrap_servers: str, topic: str, payload: EventData, *, key: str, source: str = "/tests"
) -> CloudEvent:
    event = CloudEvent.create(payload, source=source)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic, event.data, key=key.encode(), headers=event.kafka_headers()
        )
    finally:
        await producer.stop()
    return event


async def collect_events(
    bootstrap_servers: str,
    topic: str,
    *,
    count: int,
    wait_seconds: float = 30.0,
    settle: float = 0.0,
) -> list[CloudEvent]:
    """The first ``count`` events of ``topic`` (from its beginning), waiting up to
    ``wait_seconds``; with ``settle``, keeps listening that long after reaching ``count`` so a
    test can tell "exactly count" from "at least count"."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    events: list[CloudEvent] = []
    try:
        deadline = time.monotonic() + wait_seconds
        settle_until: float | None = None
        while True:
            now = time.monotonic()
            if settle_until is None and len(events) >= count:
                settle_until = now + settle
            if settle_until is not None and now >= settle_until:
                break
            if now >= deadline:
                break
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                events.extend(CloudEvent.from_kafka(r.headers, r.value) for r in records)
    finally:
        await consumer.stop()
    return events


async def find_event(
    bootstrap_servers: str,
    topic: str,
    matches: Callable[[CloudEvent], bool],
    *,
    wait_seconds: float = 30.0,
) -> CloudEvent:
    """The first event of ``topic`` (from its beginning) that ``matches``, for topics
    shared with other traffic; AssertionError if none arrives within ``wait_seconds``."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    event = CloudEvent.from_kafka(record.headers, record.value)
                    if matches(event):
                        return event
    finally:
        await consumer.stop()
    raise AssertionError(f"no matching event on {topic} within {wait_seconds} s")


async def eventually(
    check: Callable[[], Awaitable[bool]], *, seconds: float = 30.0, interval: float = 0.1
) -> None:
    """Returns once ``check()`` is true; fails the test with AssertionError after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {seconds} s")


async def schema_drift(database_url: str, metadata: MetaData) -> list[object]:
    """Alembic's autogenerate diff between the database and ``metadata``: empty when the
    migrations build exactly the tables the models describe."""

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(differences)
    finally:
        await engine.dispose()
