"""The one way Spotilike creates a Kafka producer: idempotent, acks from all replicas."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

__all__ = ["idempotent_producer"]


def idempotent_producer(bootstrap_servers: str, *, client_id: str) -> AIOKafkaProducer:
    """A producer that neither loses nor duplicates a send it retries by itself.

    Idempotence makes the broker drop the producer's own retried duplicates and keeps
    per-partition order; duplicates across producer restarts are absorbed downstream by
    ``processed_events``.
    """
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        compression_type=None,
        request_timeout_ms=30_000,
    )
