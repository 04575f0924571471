"""The real local stack, on a throwaway root and free ports, never the developer's own.

One stack serves the whole module: bringing up PostgreSQL twice, Valkey and Kafka costs
tens of seconds, and every test here leaves the stack running and healthy.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from typer.testing import CliRunner

from spotilike.contracts.topics import TOPICS
from spotilike.kit.migrations import ensure_database
from spotilike.tools.cli import app
from spotilike.tools.stack.component import State
from spotilike.tools.stack.config import StackConfig
from spotilike.tools.stack.errors import StackError
from spotilike.tools.stack.manager import Stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def free_ports(count: int) -> list[int]:
    """Ports the kernel just handed out; held together so they are distinct."""
    with ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def throwaway_config(root: Path) -> StackConfig:
    pg, replica, valkey, kafka, controller, smtp = free_ports(6)
    return StackConfig(
        root=root,
        pg_port=pg,
        pg_replica_port=replica,
        valkey_port=valkey,
        kafka_port=kafka,
        kafka_controller_port=controller,
        smtp_port=smtp,
    )


def pids(stack: Stack) -> dict[str, int | None]:
    return {row.name: row.pid for row in stack.status()}


def eventually(check: Callable[[], bool], attempts: int = 120) -> bool:
    """Polls a condition the system reaches asynchronously (replication)."""
    for _ in range(attempts):
        if check():
            return True
        time.sleep(0.25)
    return False


@dataclass
class RunningStack:
    stack: Stack
    first_up_started: bool


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    stack = Stack(throwaway_config(tmp_path_factory.mktemp("stack")))
    started = stack.up()
    try:
        yield RunningStack(stack, started)
    finally:
        stack.down()


def test_first_up_starts_and_second_up_is_a_noop(running: RunningStack) -> None:
    stack = running.stack
    assert running.first_up_started is True
    before = pids(stack)
    assert all(pid is not None for pid in before.values())
    assert {row.state for row in stack.status()} == {State.RUNNING}

    assert stack.up() is False

    assert pids(stack) == before


def test_the_replica_streams_from_the_primary(running: RunningStack) -> None:
    stack = running.stack
    table = f"t_{uuid.uuid4().hex}"
    assert stack.postgres.query("SELECT pg_is_in_recovery()") == "f"
    assert stack.postgres_replica.query("SELECT pg_is_in_recovery()") == "t"
    stack.postgres.query(f"CREATE TABLE {table} (v text); INSERT INTO {table} VALUES ('hello')")

    def replicated() -> bool:
        try:
            return stack.postgres_replica.query(f"SELECT v FROM {table}") == "hello"
        except StackError:
            return False

    assert eventually(replicated)


async def test_the_replica_answers_with_pg_is_in_recovery_over_its_dsn(
    running: RunningStack,
) -> None:
    connection = await asyncpg.connect(running.stack.endpoints.postgres_replica_dsn)
    try:
        assert await connection.fetchval("SELECT pg_is_in_recovery()") is True
    finally:
        await connection.close()


async def test_create_database_is_idempotent_and_has_pg_trgm(running: RunningStack) -> None:
    dsn = running.stack.endpoints.postgres_dsn.rsplit("/", 1)[0] + "/catalog_test"
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    assert await ensure_database(url) is True
    assert await ensure_database(url) is False
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        assert await connection.fetchval("SELECT similarity('spotilike', 'spotilike')") == 1.0
    finally:
        await connection.close()


async def test_create_database_refuses_an_unsafe_name(running: RunningStack) -> None:
    base = running.stack.endpoints.postgres_dsn.rsplit("/", 1)[0]
    url = (
        base.replace("postgresql://", "postgresql+asyncpg://", 1)
        + '/x"; DROP DATABASE postgres; --'
    )
    with pytest.raises(ValueError, match="not a valid database name"):
        await ensure_database(url)


async def test_every_registry_topic_exists_with_its_partitions(running: RunningStack) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=running.stack.endpoints.kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([t.name for t in TOPICS] + [TOPICS[0].dlq])
    finally:
        await admin.close()
    partitions = {t["topic"]: len(t["partitions"]) for t in described if t["error_code"] == 0}
    for registered in TOPICS:
        assert partitions[registered.name] == registered.partitions
    assert partitions[TOPICS[0].dlq] == TOPICS[0].partitions


async def _produce(bootstrap: str, topic: str, value: bytes) -> tuple[int, int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, value, key=b"survivor")
    finally:
        await producer.stop()
    return sent.partition, sent.offset


async def _read_at(bootstrap: str, topic: str, partition: int, offset: int) -> bytes | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        where = TopicPartition(topic, partition)
        consumer.assign([where])
        consumer.seek(where, offset)
        record = await consumer.getone()
    finally:
        await consumer.stop()
    return record.value


async def test_data_survives_down_and_up(running: RunningStack) -> None:
    stack = running.stack
    endpoints = stack.endpoints
    marker = uuid.uuid4().hex
    table = f"survivor_{marker}"
    stack.postgres.query(f"CREATE TABLE {table} (v text); INSERT INTO {table} VALUES ('{marker}')")
    valkey = redis.Redis.from_url(endpoints.redis_url)
    try:
        valkey.set("survivor", marker)
    finally:
        valkey.close()
    topic = TOPICS[0].name
    partition, offset = await _produce(endpoints.kafka_bootstrap, topic, marker.encode())
    (endpoints.storage_root / "survivor.txt").write_text(marker)

    assert stack.down() is True
    assert {row.state for row in stack.status()} == {State.STOPPED}
    assert stack.up() is True

    assert stack.postgres.query(f"SELECT v FROM {table}") == marker
    assert eventually(stack.postgres_replica.is_ready)
    valkey = redis.Redis.from_url(endpoints.redis_url)
    try:
        assert valkey.get("survivor") == marker.encode()
    finally:
        valkey.close()
    assert await _read_at(endpoints.kafka_bootstrap, topic, partition, offset) == marker.encode()
    assert (endpoints.storage_root / "survivor.txt").read_text() == marker


def test_status_command_shows_each_component(
    running: RunningStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = running.stack.config
    for name, value in {
        "SPOTILIKE_PG_PORT": config.pg_port,
        "SPOTILIKE_PG_REPLICA_PORT": config.pg_replica_port,
        "SPOTILIKE_VALKEY_PORT": config.valkey_port,
        "SPOTILIKE_KAFKA_PORT": config.kafka_port,
        "SPOTILIKE_KAFKA_CONTROLLER_PORT": config.kafka_controller_port,
        "SPOTILIKE_SMTP_PORT": config.smtp_port,
    }.items():
        monkeypatch.setenv(name, str(value))
    result = CliRunner().invoke(app, ["stack", "status", "--root", str(config.root)])
    assert result.exit_code == 0, result.output
    for row in running.stack.status():
        line = next(line for line in result.output.splitlines() if f" {row.name} " in line)
        assert str(row.port) in line
        assert str(row.pid) in line
        assert "running" in line


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    config = throwaway_config(tmp_path / "stack")
    stack = Stack(config)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", config.pg_port))
        squatter.listen()
        assert stack.status()[0].state == State.PORT_TAKEN

        with pytest.raises(StackError) as raised:
            stack.up()

    message = str(raised.value)
    assert raised.value.component == "postgres"
    assert f"127.0.0.1:{config.pg_port} is already in use" in message
    assert not (config.root / "postgres" / "primary").exists()


def test_reset_asks_first_then_wipes_the_data(tmp_path: Path) -> None:
    root = tmp_path / "stack"
    for directory in ("postgres/primary", "valkey", "kafka/data", "kafka/libs", "storage", "run"):
        (root / directory).mkdir(parents=True)
    (root / "storage" / "object").write_text("data")
    runner = CliRunner()

    refused = runner.invoke(app, ["stack", "reset", "--root", str(root)], input="n\n")
    assert refused.exit_code == 1
    assert (root / "storage" / "object").exists()

    confirmed = runner.invoke(app, ["stack", "reset", "--root", str(root), "--yes"])
    assert confirmed.exit_code == 0, confirmed.output
    for wiped in ("postgres", "valkey", "kafka/data", "storage"):
        assert not (root / wiped).exists()
    assert (root / "kafka" / "libs").is_dir(), "the jar cache is kept"
