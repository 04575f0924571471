"""The gateway routing from the registry: the real discovery service in its own process,
two upstream processes registered with short leases, one SIGKILLed under load: it is
ejected at once and, once its lease runs out, gone from the registry's view."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
import pytest
from gateway_support import free_port, make_settings, upstream_process, wait_until_serving

from spotilike.gateway.app import create_gateway_app
from spotilike.gateway.balancing import Upstream
from spotilike.tools.pytest_plugin import served_in_thread

pytestmark = pytest.mark.e2e


@contextmanager
def registry(redis_url: str) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "SPOTILIKE_ENV": "test",
        "SPOTILIKE_DISCOVERY_PORT": str(port),
        "SPOTILIKE_DISCOVERY_REDIS_URL": redis_url,
        "SPOTILIKE_DISCOVERY_KEY_PREFIX": "{gw-test-" + uuid.uuid4().hex[:10] + "}",
        "SPOTILIKE_DISCOVERY_EVICTION_INTERVAL_SECONDS": "0.2",
        "SPOTILIKE_DISCOVERY_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-c", "from spotilike.discovery.cli import app; app(['serve'])"]
    process = subprocess.Popen(command, env=env)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/health/live", process)
        yield f"http://127.0.0.1:{port}/eureka"
    finally:
        process.terminate()
        process.wait(timeout=15)


def _registration(instance_id: str, port: int) -> dict[str, object]:
    return {
        "instance": {
            "instanceId": instance_id,
            "app": "ECHO",
            "hostName": "127.0.0.1",
            "ipAddr": "127.0.0.1",
            "status": "UP",
            "port": {"$": port, "@enabled": "true"},
            "securePort": {"$": 443, "@enabled": "false"},
            "dataCenterInfo": {
                "@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
                "name": "MyOwn",
            },
            "leaseInfo": {"renewalIntervalInSecs": 1, "durationInSecs": 2},
        }
    }


async def test_a_killed_instance_is_ejected_then_evicted_from_the_registry(
    redis_url: str,
) -> None:
    with (
        registry(redis_url) as eureka,
        upstream_process("one") as (one_url, one),
        upstream_process("two") as (two_url, _),
    ):
        ids = {"one": one_url, "two": two_url}
        alive = {"one", "two"}
        async with aiohttp.ClientSession() as session:
            for name, url in ids.items():
                body = _registration(name, int(url.rsplit(":", 1)[1]))
                async with session.post(f"{eureka}/apps/ECHO", json=body) as answer:
                    assert answer.status == 204

            async def renew() -> None:
                while True:
                    for name in list(alive):
                        async with session.put(f"{eureka}/apps/ECHO/{name}"):
                            pass
                    await asyncio.sleep(0.5)

            renewer = asyncio.create_task(renew())
            settings = make_settings(
                {},
                redis_url=redis_url,
                jwks_url=two_url + "/.well-known/jwks.json",
                discovery_url=eureka,
                discovery_refresh_seconds=0.3,
                load_balancing="round-robin",
                eject_after_failures=1,
                eject_seconds=60,
                breaker_minimum_calls=20,
            )
            app = create_gateway_app(settings)
            balancer = app.state.gateway.upstreams.balancer
            try:
                with served_in_thread(app) as gateway_url:
                    await asyncio.sleep(1.0)
                    served: Counter[str] = Counter()
                    for _ in range(20):
                        async with session.get(gateway_url + "/unlimited/x") as answer:
                            served[(await answer.json())["instance"]] += 1
                    assert served == {"one": 10, "two": 10}

                    os.kill(one.pid, signal.SIGKILL)
                    alive.discard("one")
                    statuses = Counter()
                    for _ in range(40):
                        async with session.get(gateway_url + "/unlimited/x") as answer:
                            statuses[answer.status] += 1
                    assert statuses[200] >= 38
                    assert balancer.is_ejected(Upstream("one", one_url))

                    for _ in range(100):
                        known = balancer.instances("echo")
                        if [u.instance_id for u in known] == ["two"]:
                            break
                        await asyncio.sleep(0.1)
                    assert [u.instance_id for u in balancer.instances("echo")] == ["two"]
            finally:
                renewer.cancel()
