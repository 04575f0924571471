from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Upstream:
    """A real HTTP server on 127.0.0.1 whose behaviour each test sets.

    ``hits`` counts requests per path as they arrive, before any handler logic, so a test
    can tell exactly how often the client reached the server.
    """

    url: str = ""
    hits: Counter[str] = field(default_factory=Counter)
    failures_left: int = 0
    seen_headers: list[dict[str, str]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)


UPSTREAM = web.AppKey("upstream", Upstream)


@web.middleware
async def _count_hits(request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
    upstream: Upstream = request.app[UPSTREAM]
    upstream.hits[request.path] += 1
    upstream.seen_headers.append(dict(request.headers))
    return await handler(request)


async def _ok(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "method": request.method})


async def _status(request: web.Request) -> web.Response:
    return web.json_response({"status": "forced"}, status=int(request.match_info["code"]))


async def _flaky(request: web.Request) -> web.Response:
    """Answers 503 while ``failures_left`` lasts, then 200."""
    upstream: Upstream = request.app[UPSTREAM]
    if upstream.failures_left > 0:
        upstream.failures_left -= 1
        return web.json_response({"status": "unavailable"}, status=503)
    return web.json_response({"ok": True})


async def _retry_after(request: web.Request) -> web.Response:
    return web.Response(status=503, headers={"Retry-After": request.match_info["seconds"]})


async def _slow(request: web.Request) -> web.Response:
    """Hangs until the test ends, so any client timeout fires first."""
    upstream: Upstream = request.app[UPSTREAM]
    await upstream.release.wait()
    return web.json_response({"ok": True})


async def _echo(request: web.Request) -> web.Response:
    return web.json_response(
        {"body": (await request.read()).decode(), "query": dict(request.query)}
    )


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    state = Upstream()
    app = web.Application(middlewares=[_count_hits])
    app[UPSTREAM] = state
    app.router.add_route("*", "/ok", _ok)
    app.router.add_route("*", "/status/{code}", _status)
    app.router.add_route("*", "/flaky", _flaky)
    app.router.add_route("*", "/retry-after/{seconds}", _retry_after)
    app.router.add_route("*", "/slow", _slow)
    app.router.add_route("*", "/echo", _echo)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    state.url = f"http://{host}:{port}"
    try:
        yield state
    finally:
        state.release.set()
        await runner.cleanup()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nobody listens on: connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
