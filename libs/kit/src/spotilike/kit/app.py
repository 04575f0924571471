"""The app factory every service calls, so the cross-cutting parts are wired once.

``create_app`` gives a FastAPI app with: structured logging and tracing configured, a
request id on every request and response, request metrics by route template, a request
body cap (413 before the handler runs), RFC 9457 errors, ``/health/live``,
``/health/ready`` and ``/metrics``, and a lifespan that opens the database and Valkey
clients, starts the service's background workers (outbox relay, consumers) and shuts all
of it down in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol, TypeVar

import structlog
from fastapi import APIRouter, FastAPI, Request
from opentelemetry import propagate, trace
from redis.asyncio import BlockingConnectionPool, Redis
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spotilike.kit.context import request_id_var
from spotilike.kit.db import Database, RecentWriters
from spotilike.kit.discovery import ServiceRegistration
from spotilike.kit.errors import install_problem_handlers, problem_response
from spotilike.kit.events.envelope import new_event_id
from spotilike.kit.health import ReadinessCheck, database_check, health_router, redis_check
from spotilike.kit.logging import configure_logging
from spotilike.kit.metrics import HTTP_LATENCY, HTTP_REQUESTS, method_label, metrics_endpoint
from spotilike.kit.settings import ServiceSettings
from spotilike.kit.tracing import configure_tracing, tracer

__all__ = ["BackgroundWorker", "ServiceResources", "create_app", "state_dependency"]

_T = TypeVar("_T")

_log = structlog.get_logger(__name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class BackgroundWorker(Protocol):
    """A long-running loop the service runs beside its HTTP server (relay, consumer)."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class ServiceResources:
    settings: ServiceSettings
    database: Database | None
    redis: Redis | None


WorkerFactory = Callable[[ServiceResources], Sequence[BackgroundWorker]]


class _RequestContextMiddleware:
    """Request id, tracing span, metrics and the body cap, as one pure ASGI middleware.

    Pure ASGI rather than ``BaseHTTPMiddleware`` so streamed bodies stay streamed and the
    hot path pays for one wrapper, not four.
    """

    def __init__(
        self, app: ASGIApp, *, service: str, max_body_bytes: int, body_limits: Mapping[str, int]
    ) -> None:
        self._app = app
        self._service = service
        self._max_body = max_body_bytes
        self._limits = sorted(body_limits.items(), key=lambda item: -len(item[0]))

    def _limit_for(self, path: str) -> int:
        for prefix, limit in self._limits:
            if path.startswith(prefix):
                return limit
        return self._max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else new_event_id().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status_holder = {"status": 500}
        limit = self._limit_for(scope["path"])

        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_too_large(send, scope, limit)
            self._observe(scope, 413, started)
            request_id_var.reset(token)
            return

        received = 0
        rejected = False

        async def limited_receive() -> Message:
            # Past the cap, answer 413 ourselves and tell the app the client is gone:
            # raising here would surface as a 400 from the framework's body parser.
            nonlocal received, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    rejected = True
                    status_holder["status"] = 413
                    await _send_too_large(send, scope, limit)
                    return {"type": "http.disconnect"}
            return message

        async def send_with_id(message: Message) -> None:
            if rejected:
                return
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                response_headers = list(message.get("headers", []))
                if not any(name.lower() == b"x-request-id" for name, _ in response_headers):
                    response_headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = response_headers
            await send(message)

        context = propagate.extract(headers)
        span_name = f"{scope['method']} {scope['path']}"
        with tracer().start_as_current_span(
            span_name, context=context, kind=trace.SpanKind.SERVER
        ) as span:
            try:
                await self._app(scope, limited_receive, send_with_id)
            except Exception:
                if not rejected:
                    raise
            finally:
                span.set_attribute("http.response.status_code", status_holder["status"])
                self._observe(scope, status_holder["status"], started)
                request_id_var.reset(token)

    def _observe(self, scope: Scope, status: int, started: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = method_label(scope["method"])
        HTTP_REQUESTS.labels(self._service, method, route, str(status)).inc()
        HTTP_LATENCY.labels(self._service, method, route).observe(time.perf_counter() - started)


async def _send_too_large(send: Send, scope: Scope, limit: int) -> None:
    """The 413 problem, sent before or instead of the app's answer."""
    response = problem_response(
        Request(scope),
        status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        code="body-too-large",
        title="Content Too Large",
        detail=f"The request body exceeds {limit} bytes.",
        headers={"Connection": "close"},
    )
    await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def _valkey_client(settings: ServiceSettings) -> Redis:
    # redis-py's default pool raises at once when every connection is busy, so a burst
    # would fail calls Valkey could have answered a moment later; the blocking pool makes
    # them wait. The timeouts make a Valkey that stops answering fail calls fast instead
    # of hanging them.
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_pool_size,
        timeout=2.0,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
    )
    return Redis.from_pool(pool)


def create_app(
    settings: ServiceSettings,
    *,
    title: str,
    routers: Sequence[APIRouter] = (),
    use_database: bool = True,
    use_redis: bool = True,
    workers: WorkerFactory | None = None,
    readiness: Mapping[str, ReadinessCheck] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_limits: Mapping[str, int] | None = None,
    version: str = "0.1.0",
) -> FastAPI:
    configure_logging(
        service=settings.service_name, level=settings.log_level, json=settings.log_json
    )
    configure_tracing(settings.service_name)

    redis = _valkey_client(settings) if use_redis else None
    database = (
        Database(
            primary_url=settings.database_url,
            replica_url=settings.database_replica_url,
            recent_writers=(
                RecentWriters(
                    redis,
                    namespace=settings.service_name,
                    window_seconds=settings.read_your_writes_seconds,
                )
                if redis is not None
                else None
            ),
            pool_size=settings.database_pool_size,
            application_name=f"spotilike-{settings.service_name}",
        )
        if use_database
        else None
    )
    resources = ServiceResources(settings=settings, database=database, redis=redis)

    checks: dict[str, ReadinessCheck] = {}
    if database is not None:
        checks["database"] = database_check(database)
    if redis is not None:
        checks["redis"] = redis_check(redis)
    checks.update(readiness or {})

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        running = list(workers(resources)) if workers else []
        tasks = [
            asyncio.create_task(worker.run(), name=type(worker).__name__) for worker in running
        ]
        # Registration runs in its own task: a registry that is down never delays the start.
        registration = (
            ServiceRegistration.from_settings(settings) if settings.discovery_url else None
        )
        if registration is not None:
            await registration.start()
        app.state.registration = registration
        _log.info("service_started", workers=len(tasks))
        try:
            yield {}
        finally:
            # Deregistered first, so callers stop routing here before the workers wind down.
            if registration is not None:
                await registration.stop()
            for worker in running:
                worker.stop()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, timeout=10)
            for hook in app.state.shutdown_hooks:
                try:
                    await hook()
                except Exception as exc:
                    _log.warning("shutdown_hook_failed", hook=repr(hook), error=str(exc))
            if database is not None:
                await database.dispose()
            if redis is not None:
                await redis.aclose()
            _log.info("service_stopped")

    app = FastAPI(title=title, version=version, lifespan=lifespan)
    app.state.settings = settings
    app.state.resources = resources
    app.state.database = database
    app.state.redis = redis
    # Coroutines run at shutdown after the workers stop: clients the service built on top.
    app.state.shutdown_hooks = []
    install_problem_handlers(app)
    app.include_router(health_router(checks))
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    for router in routers:
        app.include_router(router)
    app.add_middleware(
        _RequestContextMiddleware,
        service=settings.service_name,
        max_body_bytes=max_body_bytes,
        body_limits=body_limits or {},
    )
    return app


def state_dependency(name: str, kind: type[_T]) -> Callable[[Request], Awaitable[_T]]:
    """A FastAPI dependency giving ``app.state.<name>``, which the composition root set.

    Routers declare it at import time, before the object exists; a missing or wrong one
    is a wiring bug, reported as such rather than as an AttributeError deep in a route.
    """

    # async, so FastAPI calls it on the event loop instead of handing a plain function to
    # its thread pool on every request.
    async def dependency(request: Request) -> _T:
        value = getattr(request.app.state, name, None)
        if not isinstance(value, kind):
            raise TypeError(
                f"app.state.{name} is not a {kind.__name__}; build the app with its factory"
            )
        return value

    return dependency
