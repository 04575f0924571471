"""Publishes committed outbox rows to Kafka, at least once and in order.

One batch is one primary transaction: claim the oldest unpublished rows with
``FOR UPDATE SKIP LOCKED``, send them all with the idempotent producer, wait for every
ack, mark them published, commit. A relay that dies before the commit leaves the rows
unpublished, so the next relay sends them again: a duplicate, which consumers absorb
through ``processed_events``; never a loss.

Several relays may run for one service (one per replica). A transaction-scoped advisory
lock lets only one of them publish a batch at a time, because two relays publishing
neighbouring batches concurrently could reorder one aggregate's events on its partition.
The relay sleeps on ``LISTEN`` and is woken by the ``pg_notify`` that :class:`Outbox`
sends in the writing transaction, with a polling fallback for a lost notification.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from prometheus_client import Counter, Gauge
from sqlalchemy import delete, func, select, update

from spotilike.kit.db import Database
from spotilike.kit.events.outbox import NOTIFY_CHANNEL, MessagingTables, headers_from_json

__all__ = ["OutboxRelay"]

_log = structlog.get_logger(__name__)

OUTBOX_BACKLOG = Gauge(
    "spotilike_outbox_backlog", "Outbox rows committed but not yet published", ["service"]
)
OUTBOX_PUBLISHED = Counter(
    "spotilike_outbox_published_total", "Outbox rows published to Kafka", ["service"]
)

_BACKLOG_EVERY_SECONDS = 5.0
_PURGE_EVERY_SECONDS = 600.0
_RELAY_LOCK_KEY = 0x5F0B0C5  # any constant; scoped to the service's own database

BatchHook = Callable[[Sequence[int]], Awaitable[None]]


def _listen_dsn(database: Database) -> str:
    url = database.primary.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class OutboxRelay:
    def __init__(
        self,
        *,
        database: Database,
        tables: MessagingTables,
        producer: AIOKafkaProducer,
        service: str,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        keep_published: timedelta = timedelta(days=1),
        after_claim: BatchHook | None = None,
        after_publish: BatchHook | None = None,
    ) -> None:
        """``after_claim`` runs once rows are locked and before they are sent;
        ``after_publish`` after the acks and before the commit. They are seams for the
        fault-injection tests, which kill the relay at exactly those points."""
        self._database = database
        self._outbox = tables.outbox
        self._producer = producer
        self._service = service
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._keep_published = keep_published
        self._after_claim = after_claim
        self._after_publish = after_publish
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    async def publish_batch(self) -> int:
        """Publishes one batch; returns how many rows it published (0: nothing to do)."""
        outbox = self._outbox
        async with self._database.transaction() as session:
            locked = await session.scalar(select(func.pg_try_advisory_xact_lock(_RELAY_LOCK_KEY)))
            if not locked:
                return 0
            rows = (
                await session.execute(
                    select(
                        outbox.c.id,
                        outbox.c.topic,
                        outbox.c.key,
                        outbox.c.headers,
                        outbox.c.payload,
                    )
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            if self._after_claim is not None:
                await self._after_claim([row.id for row in rows])
            acks = [
                await self._producer.send(
                    row.topic,
                    value=row.payload,
                    key=row.key.encode(),
                    headers=headers_from_json(row.headers),
                )
                for row in rows
            ]
            await asyncio.gather(*acks)
            ids = [row.id for row in rows]
            if self._after_publish is not None:
                await self._after_publish(ids)
            await session.execute(
                update(outbox)
                .where(outbox.c.id.in_(ids))
                .values(published_at=func.now(), attempts=outbox.c.attempts + 1)
            )
        OUTBOX_PUBLISHED.labels(self._service).inc(len(rows))
        return len(rows)

    async def backlog(self) -> int:
        async with self._database.write_session() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(self._outbox)
                .where(self._outbox.c.published_at.is_(None))
            )
        OUTBOX_BACKLOG.labels(self._service).set(count or 0)
        return int(count or 0)

    async def purge_published(self) -> int:
        outbox = self._outbox
        async with self._database.transaction() as session:
            result = await session.execute(
                delete(outbox).where(
                    outbox.c.published_at.is_not(None),
                    outbox.c.published_at < datetime.now(UTC) - self._keep_published,
                )
            )
        return int(getattr(result, "rowcount", 0) or 0)

    def _on_notify(self, *_args: Any) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Publishes until :meth:`stop`; a failed batch is retried after a pause."""
        listener = await self._listen()
        loop = asyncio.get_running_loop()
        next_backlog = next_purge = loop.time()
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                published = 0
                try:
                    published = await self.publish_batch()
                    # The backlog gauge and the purge serve dashboards and disk space, not
                    # latency, so a busy relay spends its loop on batches, not on counting.
                    if loop.time() >= next_backlog:
                        await self.backlog()
                        next_backlog = loop.time() + _BACKLOG_EVERY_SECONDS
                    if loop.time() >= next_purge:
                        await self.purge_published()
                        next_purge = loop.time() + _PURGE_EVERY_SECONDS
                except Exception as exc:
                    _log.error("outbox_relay_batch_failed", service=self._service, error=str(exc))
                if published < self._batch_size:
                    await self._sleep(self._poll_interval)
        finally:
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.close()

    async def _listen(self) -> asyncpg.Connection | None:
        try:
            connection = await asyncpg.connect(_listen_dsn(self._database))
            await connection.add_listener(NOTIFY_CHANNEL, self._on_notify)
        except (OSError, asyncpg.PostgresError) as exc:
            _log.warning("outbox_listen_unavailable", error=str(exc), fallback="polling")
            return None
        return connection

    async def _sleep(self, seconds: float) -> None:
        wake = asyncio.create_task(self._wake.wait())
        stop = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({wake, stop}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            wake.cancel()
            stop.cancel()

    def stop(self) -> None:
        self._stopping.set()
