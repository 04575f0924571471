"""Runs a service's Kafka handlers with exactly-once effects on its own database.

For each message, in partition order: open a primary transaction, record the event id in
``processed_events`` (a duplicate delivery finds it there and is skipped), apply the
handler's effect with the same session, commit. Offsets are committed only after the
messages before them were applied, so a consumer killed anywhere re-reads at most what
it had not committed, and the duplicate check turns those re-reads into no-ops.

A handler that raises is retried with exponential backoff and jitter; after
``max_attempts`` the message goes to ``<topic>.dlq`` with its original headers plus the
error, its offset is committed and the partition moves on. A message that can never be
processed (not a CloudEvent, unknown type, invalid payload) goes to the DLQ at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.structs import OffsetAndMetadata
from opentelemetry import propagate, trace
from prometheus_client import Counter, Gauge
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.contracts import DLQ_SUFFIX, EventData
from spotilike.kit.context import request_id_var
from spotilike.kit.db import Database
from spotilike.kit.events.envelope import CloudEvent, InvalidEventError
from spotilike.kit.events.outbox import MessagingTables
from spotilike.kit.events.producer import idempotent_producer
from spotilike.kit.tracing import tracer

__all__ = ["ConsumerRunner", "Handler", "RetryPolicy"]

_log = structlog.get_logger(__name__)

CONSUMER_LAG = Gauge(
    "spotilike_consumer_lag",
    "Messages between the committed position and the partition's end",
    ["group", "topic", "partition"],
)
CONSUMED = Counter(
    "spotilike_events_consumed_total",
    "Events handled, by outcome (applied, duplicate, dead_lettered)",
    ["group", "topic", "outcome"],
)

Handler = Callable[[AsyncSession, CloudEvent, EventData], Awaitable[None]]
"""Applies one event with the given session; it must not commit."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 10.0

    def delay(self, attempt: int) -> float:
        """Full jitter: uniformly random up to the exponential bound, so retries spread."""
        bound = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(0, bound)  # noqa: S311 - jitter, not security


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: ConsumerRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._runner.commit_done()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        _log.info("partitions_assigned", group=self._runner.group, partitions=len(assigned))


class ConsumerRunner:
    def __init__(
        self,
        *,
        group: str,
        bootstrap_servers: str,
        database: Database,
        tables: MessagingTables,
        handlers: Mapping[str, Handler],
        retry: RetryPolicy | None = None,
        batch_size: int = 200,
        session_timeout_ms: int = 10_000,
    ) -> None:
        """``handlers`` maps topic names (as they are on the broker) to handlers."""
        self.group = group
        self._bootstrap = bootstrap_servers
        self._database = database
        self._processed = tables.processed_events
        self._handlers = dict(handlers)
        self._retry = retry or RetryPolicy()
        self._batch_size = batch_size
        self._session_timeout_ms = session_timeout_ms
        self._done: dict[TopicPartition, int] = {}
        self._positions: dict[TopicPartition, int] = {}
        self._stopping = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self.handled = 0
        """Messages taken to an end (applied, skipped as duplicates or dead-lettered)."""

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=self.group,
            client_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=self._batch_size,
            session_timeout_ms=self._session_timeout_ms,
            heartbeat_interval_ms=max(1000, self._session_timeout_ms // 3),
        )
        consumer.subscribe(list(self._handlers), listener=_CommitOnRevoke(self))
        dead_letters: AIOKafkaProducer | None = None
        try:
            # Inside the try: a stop (or a cancel) while connecting still closes both.
            await consumer.start()
            self._consumer = consumer
            dead_letters = idempotent_producer(self._bootstrap, client_id=f"{self.group}-dlq")
            await dead_letters.start()
            while not self._stopping.is_set():
                batches = await consumer.getmany(timeout_ms=500, max_records=self._batch_size)
                for partition, records in batches.items():
                    for record in records:
                        if self._stopping.is_set():
                            break
                        await self._handle(record, dead_letters)
                        self.handled += 1
                        self._done[partition] = record.offset + 1
                        self._positions[partition] = record.offset + 1
                await self.commit_done()
                self._record_lag(consumer)
        finally:
            with contextlib.suppress(Exception):
                await self.commit_done()
            if dead_letters is not None:
                await dead_letters.stop()
            await consumer.stop()
            self._consumer = None

    def stop(self) -> None:
        self._stopping.set()

    async def commit_done(self) -> None:
        if self._consumer is None or not self._done:
            return
        offsets = {tp: OffsetAndMetadata(offset, "") for tp, offset in self._done.items()}
        self._done = {}
        await self._consumer.commit(offsets)

    def _record_lag(self, consumer: AIOKafkaConsumer) -> None:
        for tp, position in self._positions.items():
            end = consumer.highwater(tp)
            if end is not None:
                lag = max(0, end - position)
                CONSUMER_LAG.labels(self.group, tp.topic, str(tp.partition)).set(lag)

    async def _handle(self, record: ConsumerRecord, dead_letters: AIOKafkaProducer) -> None:
        try:
            event = CloudEvent.from_kafka(record.headers, record.value)
            payload = event.payload()
        except InvalidEventError as exc:
            await self._dead_letter(record, dead_letters, exc, attempts=0)
            return
        handler = self._handlers[record.topic]
        token = request_id_var.set(event.extensions.get("requestid"))
        # Continue the producing request's trace, so one trace spans HTTP and Kafka.
        parent = propagate.extract({"traceparent": event.extensions.get("traceparent", "")})
        try:
            with tracer().start_as_current_span(
                f"consume {record.topic}",
                context=parent,
                kind=trace.SpanKind.CONSUMER,
                attributes={"messaging.system": "kafka", "messaging.message.id": str(event.id)},
            ):
                await self._apply_with_retries(record, dead_letters, handler, event, payload)
        finally:
            request_id_var.reset(token)

    async def _apply_with_retries(
        self,
        record: ConsumerRecord,
        dead_letters: AIOKafkaProducer,
        handler: Handler,
        event: CloudEvent,
        payload: EventData,
    ) -> None:
        for attempt in range(1, self._retry.max_attempts + 1):
            try:
                applied = await self._apply(handler, event, payload)
            except Exception as exc:
                if attempt == self._retry.max_attempts:
                    await self._dead_letter(record, dead_letters, exc, attempts=attempt)
                    return
                _log.warning(
                    "event_handler_failed",
                    group=self.group,
                    topic=record.topic,
                    event_id=str(event.id),
                    attempt=attempt,
                    error=str(exc),
                )
                await asyncio.sleep(self._retry.delay(attempt))
            else:
                outcome = "applied" if applied else "duplicate"
                CONSUMED.labels(self.group, record.topic, outcome).inc()
                return

    async def _apply(self, handler: Handler, event: CloudEvent, payload: EventData) -> bool:
        async with self._database.transaction() as session:
            claimed = await session.execute(
                insert(self._processed)
                .values(consumer=self.group, event_id=event.id)
                .on_conflict_do_nothing()
                .returning(self._processed.c.event_id)
            )
            if claimed.first() is None:
                return False
            await handler(session, event, payload)
        return True

    async def _dead_letter(
        self,
        record: ConsumerRecord,
        dead_letters: AIOKafkaProducer,
        error: Exception,
        *,
        attempts: int,
    ) -> None:
        headers = [
            *list(record.headers),
            ("dlq_error", f"{type(error).__name__}: {error}"[:2000].encode()),
            ("dlq_attempts", str(attempts).encode()),
            ("dlq_source_topic", record.topic.encode()),
            ("dlq_source_partition", str(record.partition).encode()),
            ("dlq_source_offset", str(record.offset).encode()),
            ("dlq_consumer", self.group.encode()),
        ]
        await dead_letters.send_and_wait(
            record.topic + DLQ_SUFFIX, value=record.value, key=record.key, headers=headers
        )
        CONSUMED.labels(self.group, record.topic, "dead_lettered").inc()
        _log.error(
            "event_dead_lettered",
            group=self.group,
            topic=record.topic,
            offset=record.offset,
            attempts=attempts,
            error=str(error),
        )
