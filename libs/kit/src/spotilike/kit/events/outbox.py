"""The transactional outbox: events are rows written in the same transaction as the change.

A service never publishes to Kafka inside a request. It adds the event to its ``outbox``
table with the same session that writes the change, so either both commit or neither
does; the :class:`~spotilike.kit.events.relay.OutboxRelay` publishes committed rows later.
``processed_events`` is the consumer side of the same idea: the id of every event a
consumer has applied, written in the transaction that applies it.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry import propagate
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
    insert,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from spotilike.contracts import EventData
from spotilike.kit.context import current_request_id
from spotilike.kit.events.envelope import CloudEvent

__all__ = [
    "NOTIFY_CHANNEL",
    "MessagingTables",
    "Outbox",
    "headers_from_json",
    "messaging_tables",
]

NOTIFY_CHANNEL = "spotilike_outbox"
_NOTIFIED = "spotilike_outbox_notified"


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    processed_events: Table


def messaging_tables(metadata: MetaData) -> MessagingTables:
    """Adds ``outbox`` and ``processed_events`` to a service's metadata (once)."""
    if "outbox" in metadata.tables:
        return MessagingTables(metadata.tables["outbox"], metadata.tables["processed_events"])
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("topic", String(255), nullable=False),
        Column("key", String(255), nullable=False),
        Column("headers", JSONB, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text, nullable=True),
        Index(
            "ix_outbox_unpublished",
            "id",
            postgresql_where=text("published_at IS NULL"),
        ),
    )
    processed = Table(
        "processed_events",
        metadata,
        Column("consumer", String(255), nullable=False),
        Column("event_id", UUID(as_uuid=True), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id"),
    )
    return MessagingTables(outbox, processed)


class Outbox:
    """Adds events to the outbox inside the caller's transaction.

    ``topic_prefix`` lets tests give every test its own topics on one broker.
    """

    def __init__(self, tables: MessagingTables, *, source: str, topic_prefix: str = "") -> None:
        self._table = tables.outbox
        self._source = source
        self._topic_prefix = topic_prefix

    async def add(
        self,
        session: AsyncSession,
        payload: EventData,
        *,
        key: str,
        subject: str | None = None,
    ) -> CloudEvent:
        extensions: dict[str, str] = {}
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        if "traceparent" in carrier:
            extensions["traceparent"] = carrier["traceparent"]
        request_id = current_request_id()
        if request_id is not None:
            extensions["requestid"] = request_id
        event = CloudEvent.create(
            payload, source=self._source, subject=subject, extensions=extensions
        )
        await session.execute(
            insert(self._table).values(
                event_id=event.id,
                topic=self._topic_prefix + payload.topic,
                key=key,
                headers=_headers_as_json(event.kafka_headers()),
                payload=event.data,
            )
        )
        # Delivered only if the transaction commits, which is exactly when the relay has
        # something new to publish. Once per transaction: PostgreSQL folds identical
        # notifications anyway, so more would only cost round trips.
        transaction = session.sync_session.get_transaction()
        if transaction is None or session.info.get(_NOTIFIED) is not transaction:
            await session.execute(
                text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL}
            )
            session.info[_NOTIFIED] = session.sync_session.get_transaction()
        return event


def _headers_as_json(headers: list[tuple[str, bytes]]) -> list[list[str]]:
    return [[name, value.decode()] for name, value in headers]


def headers_from_json(stored: object) -> list[tuple[str, bytes]]:
    if not isinstance(stored, list):
        raise TypeError("outbox headers must be a list of [name, value] pairs")
    return [(str(name), str(value).encode()) for name, value in stored]
