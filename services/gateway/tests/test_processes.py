"""Real processes: two gateways sharing one rate limit, an upstream SIGKILLed under load,
and a 1 GB upload through a gateway process whose memory is watched."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import aiohttp
import psutil
import pytest
from gateway_support import (
    TEST_ROUTES,
    RunningUpstream,
    gateway_process,
    make_settings,
    raw_request,
    upstream_process,
)

from spotilike.gateway.app import create_gateway_app
from spotilike.gateway.balancing import Upstream
from spotilike.gateway.proxy import Gateway
from spotilike.tools.pytest_plugin import TokenIssuer, served_in_thread

pytestmark = pytest.mark.e2e


def _gateway_env(upstream_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    return {
        "SPOTILIKE_GATEWAY_REDIS_URL": redis_url,
        "SPOTILIKE_GATEWAY_ROUTES": json.dumps(TEST_ROUTES),
        "SPOTILIKE_GATEWAY_UPSTREAMS": json.dumps({"echo": [upstream_url]}),
        "SPOTILIKE_GATEWAY_JWKS_URL": upstream_url + "/.well-known/jwks.json",
        "SPOTILIKE_GATEWAY_STATIC_DIR": "",
        "SPOTILIKE_GATEWAY_LOG_JSON": "false",
        **extra,
    }


async def test_500_concurrent_requests_through_two_gateways_let_exactly_100_pass(
    upstream: RunningUpstream, redis_url: str
) -> None:
    env = _gateway_env(
        upstream.url, redis_url, SPOTILIKE_GATEWAY_RATE_LIMIT_NAMESPACE=uuid.uuid4().hex[:12]
    )
    with gateway_process(env) as (first, _), gateway_process(env) as (second, _):
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            start = asyncio.Event()

            async def one(base: str) -> int:
                await start.wait()
                async with session.get(base + "/open/x") as response:
                    await response.read()
                    return response.status

            tasks = [asyncio.create_task(one(first if i % 2 else second)) for i in range(500)]
            await asyncio.sleep(0.1)
            start.set()
            statuses = Counter(await asyncio.gather(*tasks))
    assert statuses == {200: 100, 429: 400}


async def test_sigkill_of_one_instance_under_load(redis_url: str) -> None:
    with upstream_process("one") as (one_url, one), upstream_process("two") as (two_url, _):
        settings = make_settings(
            {"echo": [one_url, two_url]},
            redis_url=redis_url,
            jwks_url=two_url + "/.well-known/jwks.json",
            load_balancing="round-robin",
            eject_after_failures=2,
            eject_seconds=60,
            breaker_minimum_calls=20,
        )
        app = create_gateway_app(settings)
        gateway: Gateway = app.state.gateway
        with served_in_thread(app) as gateway_url:
            served: Counter[str] = Counter()
            failures = 0
            done = 0
            killed = asyncio.Event()

            async def worker(session: aiohttp.ClientSession) -> None:
                nonlocal failures, done
                while done < 600:
                    try:
                        async with session.get(gateway_url + "/unlimited/x") as response:
                            body = await response.json()
                            if response.status == 200:
                                served[body["instance"]] += 1
                            else:
                                failures += 1
                    except aiohttp.ClientError:
                        failures += 1
                    done += 1
                    if done == 200 and not killed.is_set():
                        os.kill(one.pid, signal.SIGKILL)
                        killed.set()

            async with aiohttp.ClientSession() as session:
                await asyncio.gather(*(worker(session) for _ in range(8)))
            before_kill = dict(served)
            ejected = gateway.upstreams.balancer.is_ejected(Upstream(one_url, one_url))
    assert killed.is_set()
    assert before_kill["one"] > 50
    assert before_kill["two"] > 50
    # Idempotent requests that hit the dead instance are retried on the live one, so
    # at most the few in flight at the moment of the kill may fail.
    assert failures <= 3
    assert sum(served.values()) + failures >= 600
    assert ejected


def _tree_rss(process: psutil.Process) -> int:
    """The RSS of the gateway: its process and any worker processes it started."""
    members = [process, *process.children(recursive=True)]
    total = 0
    for member in members:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += member.memory_info().rss
    return total


def _sink_upstream_rss_watch(pid: int, stop: threading.Event, peak: list[int]) -> None:
    process = psutil.Process(pid)
    while not stop.is_set():
        peak[0] = max(peak[0], _tree_rss(process))
        stop.wait(0.05)


@pytest.mark.slow
async def test_a_1_gb_chunked_upload_keeps_the_gateway_memory_bounded(
    upstream: RunningUpstream, redis_url: str
) -> None:
    total = 1024 * 1024 * 1024
    env = _gateway_env(upstream.url, redis_url, SPOTILIKE_GATEWAY_MAX_BODY_BYTES=str(2 * total))
    with gateway_process(env) as (gateway_url, process):
        async with aiohttp.ClientSession() as session:
            async with session.post(gateway_url + "/unlimited/warm", data=b"w" * 1024) as warm:
                assert warm.status == 200
            gateway = psutil.Process(process.pid)
            baseline = _tree_rss(gateway)
            peak = [baseline]
            stop = threading.Event()
            watcher = threading.Thread(
                target=_sink_upstream_rss_watch, args=(process.pid, stop, peak), daemon=True
            )
            watcher.start()

            async def body() -> AsyncIterator[bytes]:
                block = b"u" * (1024 * 1024)
                for _ in range(total // len(block)):
                    yield block

            try:
                timeout = aiohttp.ClientTimeout(total=900)
                async with session.post(
                    gateway_url + "/unlimited/sink", data=body(), timeout=timeout
                ) as response:
                    echo = await response.json()
            finally:
                stop.set()
                watcher.join(timeout=5)
    assert response.status == 200
    assert echo["body_bytes"] == total
    growth = peak[0] - baseline
    assert growth < 200 * 1024 * 1024, f"gateway RSS grew by {growth / 2**20:.0f} MiB"


async def test_websockets_through_the_served_gateway(
    upstream: RunningUpstream, redis_url: str, token_issuer: TokenIssuer
) -> None:
    """The gateway's real server (uvicorn's WebSocket protocol, after ours read the
    upgrade): echo both ways with the verified identity, the query token, the upstream's
    close code, a refusal without a token, and the message size limit."""
    env = _gateway_env(
        upstream.url, redis_url, SPOTILIKE_GATEWAY_WEBSOCKET_MAX_MESSAGE_BYTES="2048"
    )
    token = token_issuer.token("ws-user")
    with gateway_process(env) as (gateway_url, _):
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(
                f"{gateway_url}/ws/social/echo?access_token={token}"
            ) as ws:
                hello = json.loads((await ws.receive(timeout=10)).data)
                await ws.send_str("ping")
                text = await ws.receive(timeout=10)
                await ws.send_bytes(b"\x01\x02\x03")
                binary = await ws.receive(timeout=10)
                await ws.send_str("close")
                closing = await ws.receive(timeout=10)
            async with session.ws_connect(
                f"{gateway_url}/ws/social/echo?access_token={token}"
            ) as ws:
                await ws.receive(timeout=10)
                await ws.send_bytes(b"x" * 4096)
                too_big = await ws.receive(timeout=10)
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await session.ws_connect(gateway_url + "/ws/social/echo")
    assert hello == {"user": "ws-user"}
    assert text.data == "echo:ping"
    assert binary.data == b"\x03\x02\x01"
    assert closing.type is aiohttp.WSMsgType.CLOSE
    assert closing.data == 4000
    assert too_big.type is aiohttp.WSMsgType.CLOSE
    assert too_big.data == 1009


def test_the_served_gateway_refuses_dot_segments_as_sent(
    upstream: RunningUpstream, redis_url: str
) -> None:
    """The path check depends on how the server decodes the path it hands over, so it is
    checked through the real server too, with raw requests no client library normalises."""
    targets = [
        b"/catalog/../private/x",
        b"/catalog/%2e%2e/private/x",
        b"/catalog/%2E%2E%2Fprivate",
        b"/catalog/..%5cprivate",
        b"/open/a%00",
    ]
    with gateway_process(_gateway_env(upstream.url, redis_url)) as (gateway_url, _):
        answers = {
            target: raw_request(gateway_url, b"GET " + target + b" HTTP/1.1\r\nHost: t\r\n\r\n")
            for target in targets
        }
    refused = {target for target, answer in answers.items() if answer.startswith(b"HTTP/1.1 400 ")}
    assert refused == set(targets), answers
    assert all(b"application/problem+json" in answer for answer in answers.values())


def test_the_served_gateway_closes_a_connection_whose_headers_never_end(
    upstream: RunningUpstream, redis_url: str
) -> None:
    """Slowloris: headers trickling in are cut off after KEEP_ALIVE_SECONDS."""
    env = _gateway_env(upstream.url, redis_url, SPOTILIKE_GATEWAY_KEEP_ALIVE_SECONDS="1")
    with gateway_process(env) as (gateway_url, _):
        host, port = gateway_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as connection:
            connection.sendall(b"GET /open/x HTTP/1.1\r\nHost: t\r\n")
            closed_by_server = False
            for _ in range(20):
                try:
                    connection.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    closed_by_server = True
                    break
                connection.settimeout(1.0)
                try:
                    if connection.recv(65536) == b"":
                        closed_by_server = True
                        break
                except TimeoutError:
                    continue
                except OSError:
                    closed_by_server = True
                    break
    assert closed_by_server


def test_the_served_gateway_refuses_oversized_headers(
    upstream: RunningUpstream, redis_url: str
) -> None:
    env = _gateway_env(upstream.url, redis_url, SPOTILIKE_GATEWAY_MAX_HEADER_BYTES="4096")
    with gateway_process(env) as (gateway_url, _):
        answer = raw_request(
            gateway_url,
            b"GET /open/x HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * 8192 + b"\r\n\r\n",
        )
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


def _listening_workers(parent: psutil.Process, port: int) -> dict[int, psutil.Process]:
    """The gateway's worker processes that listen on ``port``, by pid."""
    workers = {}
    for child in parent.children():
        with contextlib.suppress(psutil.NoSuchProcess):
            if any(
                c.status == psutil.CONN_LISTEN and c.laddr.port == port
                for c in child.net_connections(kind="tcp")
            ):
                workers[child.pid] = child
    return workers


def _wait_for_workers(
    parent: psutil.Process, port: int, count: int, *, without: int | None = None
) -> dict[int, psutil.Process]:
    for _ in range(300):
        workers = _listening_workers(parent, port)
        if len(workers) == count and without not in workers:
            return workers
        time.sleep(0.1)
    raise AssertionError(f"{count} workers never listened on {port}: {workers}")


def _clients_served_by(worker: psutil.Process, client_ports: set[int]) -> int:
    return sum(
        1
        for c in worker.net_connections(kind="tcp")
        if c.status == psutil.CONN_ESTABLISHED and c.raddr and c.raddr.port in client_ports
    )


def test_two_workers_each_take_connections_and_a_dead_one_is_replaced(
    upstream: RunningUpstream, redis_url: str
) -> None:
    """Each worker listens on a socket of its own (SO_REUSEPORT), so the kernel spreads
    connections over both; one that dies is started again, and SIGTERM stops them all."""
    env = _gateway_env(upstream.url, redis_url, SPOTILIKE_GATEWAY_WORKERS="2")
    with gateway_process(env) as (gateway_url, process):
        port = int(gateway_url.rsplit(":", 1)[1])
        parent = psutil.Process(process.pid)
        workers = _wait_for_workers(parent, port, 2)
        clients = []
        try:
            for _ in range(32):
                client = socket.create_connection(("127.0.0.1", port), timeout=10)
                client.sendall(b"GET /health/live HTTP/1.1\r\nHost: t\r\n\r\n")
                assert client.recv(65536).startswith(b"HTTP/1.1 200 ")
                clients.append(client)
            client_ports = {client.getsockname()[1] for client in clients}
            served = {pid: _clients_served_by(w, client_ports) for pid, w in workers.items()}
        finally:
            for client in clients:
                client.close()
        victim = next(iter(workers))
        os.kill(victim, signal.SIGKILL)
        replaced = _wait_for_workers(parent, port, 2, without=victim)
        # The port is served all along by the worker that lived, then by both again.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(b"GET /health/live HTTP/1.1\r\nHost: t\r\n\r\n")
            after = client.recv(65536)
    assert sum(served.values()) == 32
    # With two sockets in the kernel's hash, all 32 on one has a chance of 2 in 2**32.
    assert all(count > 0 for count in served.values()), served
    assert victim not in replaced
    assert after.startswith(b"HTTP/1.1 200 ")
    for pid, worker in replaced.items():
        with contextlib.suppress(psutil.NoSuchProcess):
            worker.wait(timeout=15)
        assert not psutil.pid_exists(pid) or worker.status() == psutil.STATUS_ZOMBIE


def test_workers_on_a_taken_port_stop_with_a_clear_error(
    upstream: RunningUpstream, redis_url: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            **os.environ,
            **_gateway_env(upstream.url, redis_url, SPOTILIKE_GATEWAY_WORKERS="2"),
            "SPOTILIKE_ENV": "test",
            "SPOTILIKE_GATEWAY_HOST": "127.0.0.1",
            "SPOTILIKE_GATEWAY_PORT": str(port),
        }
        result = subprocess.run(
            [sys.executable, "-c", "from spotilike.gateway.cli import app; app(['serve'])"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode != 0
    assert f"The gateway cannot listen on 127.0.0.1:{port}" in result.stderr
