"""A small Eureka-shaped server for the kit's discovery client tests.

It keeps registrations in memory and counts every call, and it can be taken off the
network and brought back on the same port, so a test sees exactly what the client did
while the registry was away. The real registry (services/discovery) has its own tests,
including this client against it.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

sys.path.insert(0, str(Path(__file__).parent))


@dataclass
class FakeEureka:
    port: int
    instances: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    apps_document: dict[str, Any] | None = None
    """When set, ``GET /eureka/apps`` answers this instead of the registrations."""
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/eureka"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/eureka/apps/{app}", self._register)
        app.router.add_put("/eureka/apps/{app}/{id}", self._renew)
        app.router.add_delete("/eureka/apps/{app}/{id}", self._cancel)
        app.router.add_get("/eureka/apps", self._apps)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def forget(self) -> None:
        """Lose every lease, as a registry that evicted them would."""
        self.instances.clear()

    def register(self, app: str, instance_id: str, host: str, port: int, status: str) -> None:
        self.instances[(app, instance_id)] = {
            "instanceId": instance_id,
            "app": app,
            "hostName": host,
            "status": status,
            "port": {"$": port, "@enabled": "true"},
        }

    async def _register(self, request: web.Request) -> web.Response:
        self.calls["register"] += 1
        body = await request.json()
        self.bodies.append(body)
        instance = body["instance"]
        self.instances[(request.match_info["app"], instance["instanceId"])] = instance
        return web.Response(status=204)

    async def _renew(self, request: web.Request) -> web.Response:
        self.calls["renew"] += 1
        known = (request.match_info["app"], request.match_info["id"]) in self.instances
        return web.Response(status=200 if known else 404)

    async def _cancel(self, request: web.Request) -> web.Response:
        self.calls["cancel"] += 1
        gone = self.instances.pop((request.match_info["app"], request.match_info["id"]), None)
        return web.Response(status=200 if gone else 404)

    async def _apps(self, request: web.Request) -> web.Response:
        self.calls["apps"] += 1
        if self.apps_document is not None:
            return web.json_response(self.apps_document)
        by_app: dict[str, list[dict[str, Any]]] = {}
        for (app, _), instance in self.instances.items():
            by_app.setdefault(app, []).append(instance)
        applications = [{"name": app, "instance": items} for app, items in by_app.items()]
        return web.json_response(
            {"applications": {"versions__delta": "1", "application": applications}}
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def fake_eureka() -> AsyncIterator[FakeEureka]:
    server = FakeEureka(port=free_port())
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def eventually(condition: Callable[[], bool], *, within: float = 15.0) -> None:
    """Waits until ``condition()`` holds, polling; fails the test after ``within`` seconds.

    The bound only keeps a broken test from hanging: the assertions are on states.
    """
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition never held")
        await asyncio.sleep(0.02)
