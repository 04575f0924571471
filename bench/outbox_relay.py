"""Outbox relay throughput (commit -> Kafka ack) against aiokafka sending the same events.

A (reference): the kit's idempotent producer builds N CloudEvents and sends them straight
to Kafka, then awaits every ack.
B (outbox): N events are committed to the outbox in transactions of ``--tx-size`` events
(the commit phase), then ``OutboxRelay.publish_batch()`` runs until it returns 0 (the
relay phase).

A and B alternate (warm-up pair first, discarded), the same producer serves both, and the
figures are medians over ``--runs`` runs, quoted as ratios against A: "relay only" is the
relay phase alone, "end to end" is commit plus relay. Everything runs in a scratch
database and scratch topics that are dropped at the end.

    uv run python bench/outbox_relay.py --runs 5 [--events 20000] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiokafka
import asyncpg
import sqlalchemy
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from spotilike.contracts import EventData
from spotilike.kit.db import Database, service_metadata
from spotilike.kit.events import (
    CloudEvent,
    Outbox,
    OutboxRelay,
    idempotent_producer,
    messaging_tables,
)
from spotilike.kit.migrations import drop_database, ensure_database
from spotilike.tools.stack.config import StackConfig

SOURCE = "bench"
PARTITIONS = 6
KEYS = 1000
"""Distinct aggregate keys, spread over the partitions like real aggregates would be."""
PHASE_TIMEOUT = 600.0
"""No phase of one run may take longer than this; a stuck broker fails the bench."""
STACK_HINT = "start the local stack first: uv run spotilike stack up"

console = Console()


class BenchPlayedV1(EventData):
    topic = "bench.outbox"
    user_id: uuid.UUID
    track_id: uuid.UUID
    position_ms: int
    device: str


metadata = service_metadata()
tables = messaging_tables(metadata)


@dataclass
class Results:
    events: int
    runs: int
    tx_size: int
    batch_size: int
    reference_s: list[float] = field(default_factory=list)
    commit_s: list[float] = field(default_factory=list)
    relay_s: list[float] = field(default_factory=list)


def _payloads(count: int) -> list[tuple[str, BenchPlayedV1]]:
    users = [uuid.uuid4() for _ in range(KEYS)]
    return [
        (
            f"user-{n % KEYS}",
            BenchPlayedV1(
                user_id=users[n % KEYS],
                track_id=uuid.uuid4(),
                position_ms=n * 997 % 300_000,
                device="bench-device",
            ),
        )
        for n in range(count)
    ]


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


async def _bounded(work: Coroutine[Any, Any, None], what: str) -> None:
    try:
        await asyncio.wait_for(work, PHASE_TIMEOUT)
    except TimeoutError:
        raise SystemExit(f"{what} did not finish within {PHASE_TIMEOUT:.0f}s") from None


async def run_reference(
    producer: AIOKafkaProducer, topic: str, payloads: list[tuple[str, BenchPlayedV1]]
) -> float:
    """Builds and sends every event the way a service without an outbox would."""

    async def send_all() -> None:
        acks = []
        for key, payload in payloads:
            event = CloudEvent.create(payload, source=SOURCE)
            acks.append(
                await producer.send(
                    topic, value=event.data, key=key.encode(), headers=event.kafka_headers()
                )
            )
        await asyncio.gather(*acks)

    started = time.perf_counter()
    await _bounded(send_all(), "the reference sends")
    return time.perf_counter() - started


async def run_outbox(
    database: Database,
    outbox: Outbox,
    relay: OutboxRelay,
    payloads: list[tuple[str, BenchPlayedV1]],
    *,
    tx_size: int,
    batch_size: int,
) -> tuple[float, float]:
    """Returns (commit seconds, relay seconds)."""
    async with database.transaction() as session:
        await session.execute(text("TRUNCATE outbox RESTART IDENTITY"))

    async def commit_all() -> None:
        for start in range(0, len(payloads), tx_size):
            async with database.transaction() as session:
                for key, payload in payloads[start : start + tx_size]:
                    await outbox.add(session, payload, key=key)

    published = 0

    async def relay_all() -> None:
        nonlocal published
        # A bound on the loop: every batch but the last is full.
        for _ in range(len(payloads) // batch_size + 2):
            count = await relay.publish_batch()
            if count == 0:
                return
            published += count

    started = time.perf_counter()
    await _bounded(commit_all(), "the outbox commits")
    committed = time.perf_counter()
    await _bounded(relay_all(), "the relay")
    relayed = time.perf_counter()

    async with database.write_session() as session:
        left = await session.scalar(
            select(func.count())
            .select_from(tables.outbox)
            .where(tables.outbox.c.published_at.is_(None))
        )
    if published != len(payloads) or left:
        raise SystemExit(f"the relay published {published} of {len(payloads)}; {left} left")
    return committed - started, relayed - committed


async def _end_offsets(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        offsets = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return sum(offsets.values())


async def _check_stack(admin_dsn: str, bootstrap: str) -> AIOKafkaAdminClient:
    try:
        connection = await asyncpg.connect(admin_dsn, timeout=10)
        await connection.close()
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise SystemExit(f"cannot reach PostgreSQL at {admin_dsn} ({exc}); {STACK_HINT}") from None
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    try:
        await admin.start()
    except (KafkaConnectionError, KafkaError, OSError) as exc:
        await admin.close()
        raise SystemExit(f"cannot reach Kafka at {bootstrap} ({exc}); {STACK_HINT}") from None
    return admin


async def bench(args: argparse.Namespace) -> Results:
    endpoints = StackConfig.from_env().endpoints
    admin_dsn = endpoints.postgres_dsn
    bootstrap = endpoints.kafka_bootstrap
    run_id = uuid.uuid4().hex[:10]
    db_name = f"bench_outbox_{run_id}"
    reference_topic = f"b{run_id}.direct.{BenchPlayedV1.topic}"
    relay_prefix = f"b{run_id}.relay."
    relay_topic = relay_prefix + BenchPlayedV1.topic
    results = Results(
        events=args.events, runs=args.runs, tx_size=args.tx_size, batch_size=args.batch_size
    )

    admin = await _check_stack(admin_dsn, bootstrap)
    db_dsn = admin_dsn.rsplit("/", 1)[0] + "/" + db_name
    db_url = db_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    await ensure_database(db_url)
    database = Database(primary_url=db_url)
    producer = idempotent_producer(bootstrap, client_id=f"bench-{run_id}")
    topics_created = False
    try:
        await admin.create_topics(
            [
                NewTopic(name, num_partitions=PARTITIONS, replication_factor=1)
                for name in (reference_topic, relay_topic)
            ]
        )
        topics_created = True
        engine = create_async_engine(db_url)
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        await engine.dispose()

        await producer.start()
        for name in (reference_topic, relay_topic):
            await producer.partitions_for(name)
        outbox = Outbox(tables, source=SOURCE, topic_prefix=relay_prefix)
        relay = OutboxRelay(
            database=database,
            tables=tables,
            producer=producer,
            service="bench",
            batch_size=args.batch_size,
        )

        warmup = _payloads(min(args.events, 2000))
        console.print(f"[dim]warm-up: {len(warmup)} events each way, not counted[/dim]")
        await run_reference(producer, reference_topic, warmup)
        await run_outbox(
            database, outbox, relay, warmup, tx_size=args.tx_size, batch_size=args.batch_size
        )

        payloads = _payloads(args.events)
        for run in range(1, args.runs + 1):
            console.print(f"run {run}/{args.runs}: A reference ...", end=" ")
            reference = await run_reference(producer, reference_topic, payloads)
            results.reference_s.append(reference)
            console.print(f"{_rate(args.events, reference):,.0f}/s; B outbox ...", end=" ")
            commit, relayed = await run_outbox(
                database,
                outbox,
                relay,
                payloads,
                tx_size=args.tx_size,
                batch_size=args.batch_size,
            )
            results.commit_s.append(commit)
            results.relay_s.append(relayed)
            console.print(
                f"commit {_rate(args.events, commit):,.0f}/s, "
                f"relay {_rate(args.events, relayed):,.0f}/s"
            )

        expected = len(warmup) + args.events * args.runs
        for name in (reference_topic, relay_topic):
            landed = await _end_offsets(bootstrap, name)
            if landed != expected:
                raise SystemExit(f"{name} holds {landed} records, expected {expected}")
    finally:
        await producer.stop()
        await database.dispose()
        if topics_created:
            await admin.delete_topics([reference_topic, relay_topic])
        await admin.close()
        await drop_database(db_url)
    return results


def summarise(results: Results) -> dict[str, object]:
    n = results.events
    reference = [_rate(n, s) for s in results.reference_s]
    commit = [_rate(n, s) for s in results.commit_s]
    relay = [_rate(n, s) for s in results.relay_s]
    end_to_end = [_rate(n, c + r) for c, r in zip(results.commit_s, results.relay_s, strict=True)]

    table = Table(title=f"Outbox relay vs aiokafka direct, {n:,} events per run (events/s)")
    for column in ("run", "A direct", "B commit", "B relay only", "B end to end"):
        table.add_column(column, justify="right")
    for i, row in enumerate(zip(reference, commit, relay, end_to_end, strict=True), start=1):
        table.add_row(str(i), *(f"{v:,.0f}" for v in row))
    medians = {
        "reference": statistics.median(reference),
        "commit": statistics.median(commit),
        "relay_only": statistics.median(relay),
        "end_to_end": statistics.median(end_to_end),
    }
    table.add_row(
        "median",
        *(f"{medians[k]:,.0f}" for k in ("reference", "commit", "relay_only", "end_to_end")),
        style="bold",
    )
    console.print(table)
    ratios = {
        "relay_only": medians["relay_only"] / medians["reference"],
        "end_to_end": medians["end_to_end"] / medians["reference"],
        "commit": medians["commit"] / medians["reference"],
    }
    console.print(f"relay only / direct : {ratios['relay_only']:.2f}")
    console.print(f"end to end / direct : {ratios['end_to_end']:.2f}")
    console.print(f"commit only / direct: {ratios['commit']:.2f}")
    return {
        "benchmark": "outbox_relay",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "versions": {
            "aiokafka": aiokafka.__version__,
            "asyncpg": asyncpg.__version__,
            "sqlalchemy": sqlalchemy.__version__,
        },
        "config": {
            "events": results.events,
            "runs": results.runs,
            "tx_size": results.tx_size,
            "relay_batch_size": results.batch_size,
            "partitions": PARTITIONS,
        },
        "seconds": {
            "reference": results.reference_s,
            "commit": results.commit_s,
            "relay": results.relay_s,
        },
        "events_per_second_median": medians,
        "ratio_to_direct": ratios,
        "command": "uv run python " + " ".join(sys.argv),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000, help="events per run")
    parser.add_argument("--runs", type=int, default=5, help="measured A/B pairs (>= 1)")
    parser.add_argument("--tx-size", type=int, default=100, help="events per outbox commit")
    parser.add_argument("--batch-size", type=int, default=500, help="the relay's batch size")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    if args.events < 1 or args.runs < 1 or args.tx_size < 1 or args.batch_size < 1:
        parser.error("--events, --runs, --tx-size and --batch-size must be positive")
    summary = summarise(asyncio.run(bench(args)))
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
        console.print(f"[dim]results written to {args.json}[/dim]")


if __name__ == "__main__":
    main()
