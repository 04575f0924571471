"""The outbox relay as a service's background worker, owning its Kafka producer."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from spotilike.kit.db import Database
from spotilike.kit.events.outbox import MessagingTables
from spotilike.kit.events.producer import idempotent_producer
from spotilike.kit.events.relay import OutboxRelay
from spotilike.kit.settings import ServiceSettings

__all__ = ["OutboxPublisher"]

_log = structlog.get_logger(__name__)
_MAX_CONNECT_PAUSE_SECONDS = 30.0


class OutboxPublisher:
    """Connects a producer (retrying while Kafka is away), then runs the relay until stopped.

    The service keeps serving while Kafka is down: events wait in the outbox, which is
    the point of having one, and go out once the broker is back.
    """

    def __init__(
        self,
        *,
        database: Database,
        tables: MessagingTables,
        bootstrap_servers: str,
        service: str,
        poll_interval: float = 1.0,
    ) -> None:
        self._database = database
        self._tables = tables
        self._bootstrap = bootstrap_servers
        self._service = service
        self._poll_interval = poll_interval
        self._stopping = asyncio.Event()
        self._relay: OutboxRelay | None = None

    @classmethod
    def for_service(
        cls, database: Database, tables: MessagingTables, settings: ServiceSettings
    ) -> OutboxPublisher:
        """The publisher a service runs: its outbox, to its settings' Kafka, under its name."""
        return cls(
            database=database,
            tables=tables,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            service=settings.service_name,
        )

    async def run(self) -> None:
        pause = 0.5
        while not self._stopping.is_set():
            producer = idempotent_producer(self._bootstrap, client_id=f"{self._service}-outbox")
            try:
                await producer.start()
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await producer.stop()
                raise
            except Exception as exc:
                _log.warning(
                    "outbox_producer_unavailable",
                    service=self._service,
                    bootstrap_servers=self._bootstrap,
                    error=str(exc),
                    retry_in_seconds=pause,
                )
                with contextlib.suppress(Exception):
                    await producer.stop()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=pause)
                pause = min(pause * 2, _MAX_CONNECT_PAUSE_SECONDS)
                continue
            try:
                self._relay = OutboxRelay(
                    database=self._database,
                    tables=self._tables,
                    producer=producer,
                    service=self._service,
                    poll_interval=self._poll_interval,
                )
                if self._stopping.is_set():
                    return
                await self._relay.run()
            finally:
                await producer.stop()
            return

    def stop(self) -> None:
        self._stopping.set()
        if self._relay is not None:
            self._relay.stop()
