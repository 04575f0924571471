"""Apache Kafka 4, one KRaft node (broker and controller), jars resolved by Maven.

Kafka ships no wheel, so deploy/local/kafka/pom.xml names the broker and Maven copies it
and its dependencies into <root>/kafka/libs once; the copy is redone only when the pom
changes. The node is formatted once and then runs as ``java -cp 'libs/*' kafka.Kafka``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import psutil

from spotilike.tools.stack.config import StackConfig
from spotilike.tools.stack.errors import StackError
from spotilike.tools.stack.process import (
    await_ready,
    find_process,
    read_pid,
    spawn,
    stop_tracked,
    tail,
    write_pid,
)

if TYPE_CHECKING:
    from spotilike.contracts.topics import Topic

__all__ = ["Kafka", "default_kafka_pom", "topic_plan"]

_T = TypeVar("_T")
_TOPIC_ALREADY_EXISTS = 36
_NETWORK_TROUBLE = (
    "Could not transfer",
    "UnknownHostException",
    "Connection refused",
    "Connection timed out",
    "connect timed out",
    "Network is unreachable",
    "No route to host",
    "PKIX path building failed",
)

_LOG4J2 = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by `spotilike stack`: the broker logs to stdout, which goes to kafka.log. -->
<Configuration status="WARN">
  <Appenders>
    <Console name="stdout" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Logger name="org.apache.kafka.clients" level="WARN"/>
    <Logger name="org.apache.kafka.common.config" level="WARN"/>
    <Logger name="kafka.log" level="WARN"/>
    <Logger name="kafka.cluster.Partition" level="WARN"/>
    <Logger name="org.apache.kafka.controller.ReplicationControlManager" level="WARN"/>
    <Logger name="org.apache.kafka.storage" level="WARN"/>
    <Root level="INFO">
      <AppenderRef ref="stdout"/>
    </Root>
  </Loggers>
</Configuration>
"""


def default_kafka_pom() -> Path:
    """deploy/local/kafka/pom.xml of the checkout we run from (cwd first, then ours)."""
    relative = Path("deploy/local/kafka/pom.xml")
    here = Path.cwd().resolve()
    for directory in (here, *here.parents, *Path(__file__).resolve().parents):
        if (directory / relative).is_file():
            return directory / relative
    raise StackError("kafka", f"cannot find {relative}; set StackConfig.kafka_pom")


def new_cluster_id() -> str:
    """A KRaft cluster id: a random UUID, base64url without padding, as Kafka makes them."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        # Kafka avoids ids starting with "-" so they cannot be mistaken for an option.
        if not cluster_id.startswith("-"):
            return cluster_id


def topic_plan(topics: Iterable[Topic]) -> dict[str, int]:
    """Every topic to create with its partition count: each registry topic and its DLQ.

    A topic that already is a dead-letter topic gets no DLQ of its own.
    """
    from spotilike.contracts.topics import DLQ_SUFFIX  # noqa: PLC0415 - see Stack.up

    plan: dict[str, int] = {}
    for topic in topics:
        plan[topic.name] = topic.partitions
        if not topic.name.endswith(DLQ_SUFFIX):
            plan[topic.dlq] = topic.partitions
    return plan


def _run_async(make: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    # Its own thread and loop, so this works even when the caller already runs a loop
    # (an async test fixture).
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


class Kafka:
    name = "kafka"

    def __init__(self, config: StackConfig) -> None:
        self._config = config
        self._home = config.root / "kafka"
        self._libs = self._home / "libs"
        self._data_dir = self._home / "data"
        self._properties = self._home / "config" / "server.properties"
        self._log4j = self._home / "config" / "log4j2.xml"
        self._pid_file = config.root / "run" / "kafka.pid"
        self._log_path = config.root / "logs" / "kafka.log"
        self._maven_log = config.root / "logs" / "kafka-maven.log"

    @property
    def ports(self) -> tuple[int, ...]:
        return (self._config.kafka_port, self._config.kafka_controller_port)

    @property
    def log_path(self) -> Path:
        return self._log_path

    def process(self) -> psutil.Process | None:
        return find_process(read_pid(self._pid_file), ["kafka.Kafka", str(self._properties)])

    def is_ready(self) -> bool:
        # A plain connect first: aiokafka logs every refused connection at ERROR level.
        try:
            socket.create_connection((self._config.host, self._config.kafka_port), 2).close()
        except OSError:
            return False
        try:
            cluster = _run_async(self._describe_cluster)
        except Exception:  # any failure to answer means "not ready"
            return False
        return bool(cluster.get("brokers"))

    def start(self, timeout: float) -> None:
        java = self._java()
        self._resolve_jars()
        self._write_config()
        if not (self._data_dir / "meta.properties").exists():
            self._format(java)
        pid = spawn(
            [
                java,
                "-Xms256m",
                "-Xmx768m",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={self._log4j}",
                "-cp",
                f"{self._libs}/*",
                "kafka.Kafka",
                str(self._properties),
            ],
            log_path=self._log_path,
            cwd=self._home,
            env={**os.environ, **self._config.extra_env},
        )
        write_pid(self._pid_file, pid)

        await_ready(self, pid=pid, port=self._config.kafka_port, timeout=timeout, interval=0.5)

    def stop(self, timeout: float) -> None:
        stop_tracked(self.process(), self._pid_file, timeout)

    def ensure_topics(self, topics: Iterable[Topic]) -> list[str]:
        """Creates the registry's topics (and their DLQs) that are missing; returns those."""
        plan = topic_plan(topics)
        return _run_async(lambda: self._create_topics(plan))

    async def _describe_cluster(self) -> dict[str, Any]:
        from aiokafka.admin import AIOKafkaAdminClient  # noqa: PLC0415 - heavy import

        admin = AIOKafkaAdminClient(
            bootstrap_servers=self._config.endpoints.kafka_bootstrap, request_timeout_ms=5000
        )
        try:
            await admin.start()
            cluster: dict[str, Any] = await admin.describe_cluster()
            return cluster
        finally:
            await admin.close()

    async def _create_topics(self, plan: dict[str, int]) -> list[str]:
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: PLC0415 - heavy import

        admin = AIOKafkaAdminClient(
            bootstrap_servers=self._config.endpoints.kafka_bootstrap, request_timeout_ms=30000
        )
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [name for name in plan if name not in existing]
            if not missing:
                return []
            new_topics = [NewTopic(name, plan[name], replication_factor=1) for name in missing]
            response = await admin.create_topics(new_topics)
        finally:
            await admin.close()
        failures = [
            f"{name} (error code {error_code})"
            for name, error_code, *_message in response.topic_errors
            if error_code not in (0, _TOPIC_ALREADY_EXISTS)
        ]
        if failures:
            raise StackError(self.name, "creating topics failed: " + "; ".join(failures))
        return missing

    def _java(self) -> str:
        java_home = os.environ.get("JAVA_HOME")
        java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
        if java is None or not Path(java).is_file():
            raise StackError(self.name, "java not found (install a JDK 17+ or set JAVA_HOME)")
        return java

    def _resolve_jars(self) -> None:
        pom = self._config.kafka_pom or default_kafka_pom()
        digest = hashlib.sha256(pom.read_bytes()).hexdigest()
        stamp = self._libs / ".pom-sha256"
        if stamp.is_file() and stamp.read_text().strip() == digest:
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise StackError(self.name, "mvn not found (install Maven 3.9+): it fetches Kafka")
        # Copy into a fresh directory and swap it in, so jars of an older pom never mix in.
        staging = self._home / "libs.partial"
        shutil.rmtree(staging, ignore_errors=True)
        self._maven_log.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(  # noqa: S603 - argv built by us, no shell
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
                "-DincludeScope=runtime",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        self._maven_log.write_text(result.stdout + result.stderr)
        if result.returncode != 0:
            output = result.stdout + result.stderr
            why = (
                "Maven Central is unreachable"
                if any(sign in output for sign in _NETWORK_TROUBLE)
                else "Maven failed"
            )
            raise StackError(
                self.name,
                f"{why} while resolving the broker from {pom}; see {self._maven_log}",
            )
        (staging / ".pom-sha256").write_text(digest + "\n")
        shutil.rmtree(self._libs, ignore_errors=True)
        staging.rename(self._libs)

    def _write_config(self) -> None:
        host = self._config.host
        port = self._config.kafka_port
        controller = self._config.kafka_controller_port
        self._properties.parent.mkdir(parents=True, exist_ok=True)
        self._properties.write_text(
            "# Written by `spotilike stack` on every start; edit StackConfig instead.\n"
            "process.roles=broker,controller\n"
            "node.id=1\n"
            f"controller.quorum.voters=1@{host}:{controller}\n"
            f"listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller}\n"
            f"advertised.listeners=PLAINTEXT://{host}:{port}\n"
            "controller.listener.names=CONTROLLER\n"
            "inter.broker.listener.name=PLAINTEXT\n"
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n"
            f"log.dirs={self._data_dir}\n"
            "num.partitions=1\n"
            "default.replication.factor=1\n"
            "min.insync.replicas=1\n"
            "offsets.topic.replication.factor=1\n"
            "offsets.topic.num.partitions=10\n"
            "transaction.state.log.replication.factor=1\n"
            "transaction.state.log.min.isr=1\n"
            "share.coordinator.state.topic.replication.factor=1\n"
            "share.coordinator.state.topic.min.isr=1\n"
            "group.initial.rebalance.delay.ms=0\n"
            "auto.create.topics.enable=false\n"
        )
        self._log4j.write_text(_LOG4J2)

    def _format(self, java: str) -> None:
        cluster_id_file = self._home / "cluster-id"
        if not cluster_id_file.is_file():
            cluster_id_file.write_text(new_cluster_id() + "\n")
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        with self._log_path.open("ab") as log:
            result = subprocess.run(  # noqa: S603 - argv built by us, no shell
                [
                    java,
                    f"-Dlog4j2.configurationFile={self._log4j}",
                    "-cp",
                    f"{self._libs}/*",
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    cluster_id_file.read_text().strip(),
                    "-c",
                    str(self._properties),
                    "--ignore-formatted",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
                timeout=300,
            )
        if result.returncode != 0:
            raise StackError(
                self.name,
                f"formatting the KRaft storage failed\n--- {self._log_path} ---\n"
                f"{tail(self._log_path)}",
            )
