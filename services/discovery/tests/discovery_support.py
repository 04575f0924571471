"""Fixtures and helpers of the discovery service's tests.

Every test gets its own Valkey key prefix, so tests sharing the stack's Valkey never see
each other's registrations. Registries run three ways: ASGI in-process (most API tests),
real uvicorn in a thread (py-eureka-client and the kit client need real HTTP), and real
``spotilike discovery serve`` processes (the SIGKILL and shared-Valkey tests).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from spotilike.discovery.app import create_discovery_app
from spotilike.discovery.settings import DiscoverySettings
from spotilike.tools.pytest_plugin import running_app

sys.path.insert(0, str(Path(__file__).parent))

ECHO_SERVICE = Path(__file__).parent / "echo_service.py"
SPOTILIKE_CLI = Path(sys.executable).parent / "spotilike"
JSON = {"Accept": "application/json"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unique_prefix() -> str:
    return "{discovery-test-" + uuid.uuid4().hex[:12] + "}"


def registration(
    app: str = "CATALOG",
    instance_id: str = "127.0.0.1:catalog:9001",
    *,
    port: int = 9001,
    lease_seconds: int | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A registration body like the ones Eureka's clients send."""
    instance: dict[str, Any] = {
        "instanceId": instance_id,
        "app": app,
        "hostName": "127.0.0.1",
        "ipAddr": "127.0.0.1",
        "status": "UP",
        "port": {"$": port, "@enabled": "true"},
        "securePort": {"$": 443, "@enabled": "false"},
        "dataCenterInfo": {
            "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
            "name": "MyOwn",
        },
        "leaseInfo": {"renewalIntervalInSecs": 1}
        | ({"durationInSecs": lease_seconds} if lease_seconds else {}),
        "metadata": {"zone": "default"},
        "homePageUrl": f"http://127.0.0.1:{port}/",
        "healthCheckUrl": f"http://127.0.0.1:{port}/health/ready",
    }
    instance.update(fields)
    return {"instance": instance}


def instances_of(document: Mapping[str, Any], app: str) -> list[dict[str, Any]]:
    """The instances of ``app`` in a JSON ``applications`` document."""
    for application in document["applications"]["application"]:
        if application["name"] == app:
            return list(application["instance"])
    return []


def wait_until(condition: Callable[[], bool], *, within: float = 20.0) -> None:
    """Polls ``condition``; the bound only keeps a broken test from hanging."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never held")
        time.sleep(0.05)


def _wait_for_http(url: str, process: subprocess.Popen[bytes]) -> None:
    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(answers, within=60)


@contextmanager
def spawned(command: list[str], env: Mapping[str, str], ready_url: str) -> Iterator[int]:
    """A process of ours, its pid while it runs; killed (its group) at the end."""
    process = subprocess.Popen(command, env={**os.environ, **env}, start_new_session=True)
    try:
        _wait_for_http(ready_url, process)
        yield process.pid
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)


@contextmanager
def registry_process(redis_url: str, key_prefix: str, *, via_cli: bool = False) -> Iterator[str]:
    """The registry's ``serve`` command on a free port; its Eureka root URL.

    ``via_cli`` goes through the ``spotilike`` entry point, which loads every service's
    commands (seconds on a loaded machine); otherwise the same command is called directly.
    """
    port = free_port()
    env = {
        "SPOTILIKE_ENV": "test",
        "SPOTILIKE_DISCOVERY_PORT": str(port),
        "SPOTILIKE_DISCOVERY_REDIS_URL": redis_url,
        "SPOTILIKE_DISCOVERY_KEY_PREFIX": key_prefix,
        "SPOTILIKE_DISCOVERY_EVICTION_INTERVAL_SECONDS": "0.2",
        "SPOTILIKE_DISCOVERY_LOG_JSON": "false",
    }
    base = f"http://127.0.0.1:{port}"
    command = (
        [str(SPOTILIKE_CLI), "discovery", "serve"]
        if via_cli
        else [sys.executable, "-c", "from spotilike.discovery.cli import app; app(['serve'])"]
    )
    with spawned(command, env, f"{base}/health/live"):
        yield f"{base}/eureka"


@contextmanager
def echo_process(
    discovery_url: str, *, lease_seconds: int = 3, renew_seconds: float = 0.5
) -> Iterator[tuple[int, int]]:
    """A kit service process registered with ``discovery_url``; its (pid, port)."""
    port = free_port()
    env = {
        "SPOTILIKE_ENV": "test",
        "SPOTILIKE_SERVICE_NAME": "echo",
        "SPOTILIKE_PORT": str(port),
        "SPOTILIKE_DISCOVERY_URL": discovery_url,
        "SPOTILIKE_DISCOVERY_LEASE_SECONDS": str(lease_seconds),
        "SPOTILIKE_DISCOVERY_RENEW_SECONDS": str(renew_seconds),
        "SPOTILIKE_LOG_JSON": "false",
    }
    ready = f"http://127.0.0.1:{port}/health/live"
    with spawned([sys.executable, str(ECHO_SERVICE)], env, ready) as pid:
        yield pid, port


@pytest.fixture
def discovery_settings(redis_url: str) -> DiscoverySettings:
    return DiscoverySettings(
        redis_url=redis_url,
        key_prefix=unique_prefix(),
        eviction_interval_seconds=0.2,
        log_json=False,
    )


@pytest.fixture
async def registry(discovery_settings: DiscoverySettings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(create_discovery_app(discovery_settings)) as client:
        yield client
