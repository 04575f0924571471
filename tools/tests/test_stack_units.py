"""The stack's pure logic: configuration, topic planning, pid and port bookkeeping."""

from __future__ import annotations

import re
import socket
import sys
from pathlib import Path

import pytest

from spotilike.contracts.topics import TOPICS, Topic
from spotilike.tools.stack.config import StackConfig
from spotilike.tools.stack.errors import StackError
from spotilike.tools.stack.kafka import new_cluster_id, topic_plan
from spotilike.tools.stack.process import (
    find_process,
    port_holder,
    read_pid,
    require_ports_free,
    spawn,
    stop_process,
    tail,
    write_pid,
)

pytestmark = pytest.mark.unit

_ENV = (
    "SPOTILIKE_STACK_DIR",
    "SPOTILIKE_PG_PORT",
    "SPOTILIKE_PG_REPLICA_PORT",
    "SPOTILIKE_VALKEY_PORT",
    "SPOTILIKE_KAFKA_PORT",
    "SPOTILIKE_KAFKA_CONTROLLER_PORT",
    "SPOTILIKE_PG_BIN",
    "SPOTILIKE_REDIS_BIN",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_without_environment(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.chdir(tmp_path)
    config = StackConfig.from_env()
    assert config.root == (tmp_path / ".spotilike").resolve()
    assert (config.pg_port, config.pg_replica_port) == (55432, 55433)
    assert config.valkey_port == 56379
    assert (config.kafka_port, config.kafka_controller_port) == (59092, 59093)
    assert config.pg_bin is None
    assert config.redis_bin is None


def test_environment_overrides_every_port_and_path(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.setenv("SPOTILIKE_STACK_DIR", str(tmp_path / "elsewhere"))
    clean_env.setenv("SPOTILIKE_PG_PORT", "1001")
    clean_env.setenv("SPOTILIKE_PG_REPLICA_PORT", "1002")
    clean_env.setenv("SPOTILIKE_VALKEY_PORT", "1003")
    clean_env.setenv("SPOTILIKE_KAFKA_PORT", "1004")
    clean_env.setenv("SPOTILIKE_KAFKA_CONTROLLER_PORT", "1005")
    clean_env.setenv("SPOTILIKE_PG_BIN", "/opt/pg/bin")
    clean_env.setenv("SPOTILIKE_REDIS_BIN", "/opt/valkey/valkey-server")
    config = StackConfig.from_env()
    assert config.root == tmp_path / "elsewhere"
    ports = (
        config.pg_port,
        config.pg_replica_port,
        config.valkey_port,
        config.kafka_port,
        config.kafka_controller_port,
    )
    assert ports == (1001, 1002, 1003, 1004, 1005)
    assert config.pg_bin == Path("/opt/pg/bin")
    assert config.redis_bin == Path("/opt/valkey/valkey-server")


def test_an_explicit_root_wins_over_the_environment(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.setenv("SPOTILIKE_STACK_DIR", str(tmp_path / "from-env"))
    assert StackConfig.from_env(tmp_path / "given").root == tmp_path / "given"


@pytest.mark.parametrize(
    ("raw", "problem"), [("abc", "not a port"), ("0", "outside"), ("65536", "outside")]
)
def test_a_bad_port_is_refused_with_its_variable_name(
    clean_env: pytest.MonkeyPatch, raw: str, problem: str
) -> None:
    clean_env.setenv("SPOTILIKE_VALKEY_PORT", raw)
    with pytest.raises(ValueError, match=f"SPOTILIKE_VALKEY_PORT.*{problem}"):
        StackConfig.from_env()


def test_endpoints_follow_the_ports(tmp_path: Path) -> None:
    config = StackConfig(root=tmp_path, pg_port=1, pg_replica_port=2, valkey_port=3, kafka_port=4)
    endpoints = config.endpoints
    assert endpoints.postgres_dsn == "postgresql://spotilike@127.0.0.1:1/postgres"
    assert endpoints.postgres_replica_dsn == "postgresql://spotilike@127.0.0.1:2/postgres"
    assert endpoints.redis_url == "redis://127.0.0.1:3/0"
    assert endpoints.kafka_bootstrap == "127.0.0.1:4"
    assert endpoints.storage_root == tmp_path / "storage"


def test_topic_plan_adds_a_dlq_per_topic_with_the_same_partitions() -> None:
    plan = topic_plan(
        [Topic("a.created", key="a_id", partitions=6, owner="x"), Topic("b.done", "b_id", 3, "y")]
    )
    assert plan == {"a.created": 6, "a.created.dlq": 6, "b.done": 3, "b.done.dlq": 3}


def test_topic_plan_gives_a_dead_letter_topic_no_dlq_of_its_own() -> None:
    plan = topic_plan([Topic("notifications.dlq", key="email_id", partitions=1, owner="n")])
    assert plan == {"notifications.dlq": 1}


def test_topic_plan_covers_the_whole_registry() -> None:
    plan = topic_plan(TOPICS)
    for registered in TOPICS:
        assert plan[registered.name] == registered.partitions
    assert not any(name.endswith(".dlq.dlq") for name in plan)


def test_cluster_ids_look_like_kafkas() -> None:
    ids = {new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for cluster_id in ids:
        assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", cluster_id)


def test_port_holder_sees_a_listening_socket() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert port_holder("127.0.0.1", port) is not None
        with pytest.raises(
            StackError, match=rf"valkey: port 127\.0\.0\.1:{port} is already in use"
        ):
            require_ports_free("valkey", "127.0.0.1", [port])
    assert port_holder("127.0.0.1", port) is None


def test_pid_files_round_trip_and_tolerate_garbage(tmp_path: Path) -> None:
    pid_file = tmp_path / "x.pid"
    assert read_pid(pid_file) is None
    write_pid(pid_file, 4321)
    assert read_pid(pid_file) == 4321
    pid_file.write_text("not a pid\n")
    assert read_pid(pid_file) is None


def test_a_spawned_process_is_found_by_its_markers_and_stopped(tmp_path: Path) -> None:
    log = tmp_path / "sleeper.log"
    script = "import sys, time; print('hello', flush=True); time.sleep(60)"
    pid = spawn([sys.executable, "-c", script, "marker-one"], log_path=log, cwd=tmp_path)
    process = find_process(pid, ["marker-one", "time.sleep"])
    assert process is not None
    assert find_process(pid, ["marker-one", "some-other-root"]) is None
    stop_process(process, timeout=10)
    assert find_process(pid, ["marker-one"]) is None


def test_tail_returns_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    assert tail(log) == ""
    log.write_text("".join(f"line {n}\n" for n in range(100)))
    assert tail(log, 3) == "line 97\nline 98\nline 99"
