"""The gateway's ASGI entry: its own few routes go to the kit's FastAPI app, every other
request takes the lean proxy path.

Why not proxy from inside the FastAPI app: its middleware stack (FastAPI's telemetry and
body-limit layers, Starlette's error and exception layers, the kit's request context with a
span per request) cost more than half of the gateway's CPU per proxied request in
bench/gateway_proxy.py. The proxy path does the parts of that stack it needs itself: the
request id (the kit's format, set in the log context and on the response), the request
metrics (the kit's counters, labelled by route prefix), the body cap (in admission and
while streaming) and problem+json answers (the kit's ``problem_response``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Final

import structlog
import uuid_utils
from fastapi import FastAPI
from prometheus_client import Counter, Histogram
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spotilike.gateway.proxy.admission import Admission
from spotilike.gateway.proxy.headers import RequestHead
from spotilike.gateway.proxy.http import HttpForwarder
from spotilike.gateway.proxy.upstreams import Upstreams
from spotilike.gateway.proxy.websocket import WebSocketForwarder, deny
from spotilike.kit.context import request_id_var
from spotilike.kit.errors import Problem, problem_response
from spotilike.kit.metrics import HTTP_LATENCY, HTTP_REQUESTS, method_label

__all__ = ["Gateway", "GatewayEntry"]

_log = structlog.get_logger(__name__)

_REQUEST_ID: Final = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_HEALTH_PREFIX: Final = "/health/"
_METRICS_PATH: Final = "/metrics"


def _request_id(head: RequestHead) -> str:
    if head.request_id is not None:
        text = head.request_id.decode("latin-1")
        if _REQUEST_ID.match(text):
            return text
    # The kit's format (a UUIDv7 in hex), without the detour through the stdlib's UUID.
    return uuid_utils.uuid7().hex


class _StatusSend:
    """``send`` for answers the gateway does not build itself (static files, problems):
    adds the request id and remembers the status."""

    __slots__ = ("_id_header", "_send", "status")

    def __init__(self, send: Send, id_header: tuple[bytes, bytes]) -> None:
        self._send = send
        self._id_header = id_header
        self.status = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            headers = message.setdefault("headers", [])
            if not any(name.lower() == b"x-request-id" for name, _ in headers):
                headers.append(self._id_header)
        await self._send(message)


class Gateway:
    """Routes, admits and forwards one request; refusals become problem+json answers."""

    def __init__(
        self,
        *,
        admission: Admission,
        upstreams: Upstreams,
        static: ASGIApp | None,
        service: str,
    ) -> None:
        self.admission = admission
        self.upstreams = upstreams
        self._http = HttpForwarder(upstreams)
        self._websocket = WebSocketForwarder(upstreams, admission)
        self._static = static
        self._service = service
        # prometheus_client's labels() takes a lock and builds a key on every call.
        self._observers: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        head = RequestHead(scope["headers"])
        request_id = _request_id(head)
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        if scope["type"] == "websocket":
            try:
                await self._handle_websocket(scope, receive, send, head)
            finally:
                request_id_var.reset(token)
            return
        started = time.perf_counter()
        id_header = (b"x-request-id", request_id.encode())
        status = 500
        try:
            status = await self._handle_http(scope, receive, send, head, id_header)
        except Problem as problem:
            status = await self._answer(scope, receive, _StatusSend(send, id_header), problem)
        except Exception as exc:
            _log.error("unhandled_exception", path=scope["path"], exc_info=exc)
            status = await self._answer(
                scope,
                receive,
                _StatusSend(send, id_header),
                Problem(
                    "The gateway failed to handle this request. Quote the request id when "
                    "reporting it."
                ),
            )
        finally:
            route = scope.get("route")
            label = route.path if route is not None else "unmatched"
            key = (method_label(scope["method"]), label, status)
            observers = self._observers.get(key)
            if observers is None:
                observers = self._observers[key] = self._new_observers(*key)
            observers[0].inc()
            observers[1].observe(time.perf_counter() - started)
            request_id_var.reset(token)

    def _new_observers(self, method: str, label: str, status: int) -> tuple[Counter, Histogram]:
        return (
            HTTP_REQUESTS.labels(self._service, method, label, str(status)),
            HTTP_LATENCY.labels(self._service, method, label),
        )

    async def _handle_http(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        head: RequestHead,
        id_header: tuple[bytes, bytes],
    ) -> int:
        route = self.admission.route(scope)
        if route is None:
            if self._static is not None and scope["method"] in ("GET", "HEAD"):
                stamped = _StatusSend(send, id_header)
                await self._static(scope, receive, stamped)
                return stamped.status
            raise Admission.not_found(scope["path"])
        scope["route"] = route
        admitted = await self.admission.admit(scope, route, head)
        return await self._http.forward(scope, receive, send, admitted, id_header)

    async def _handle_websocket(
        self, scope: Scope, receive: Receive, send: Send, head: RequestHead
    ) -> None:
        try:
            route = self.admission.route(scope)
        except Problem as problem:
            await deny(scope, send, problem)
            return
        if route is None:
            await deny(scope, send, Admission.not_found(scope["path"]))
            return
        await self._websocket.forward(scope, receive, send, route, head)

    @staticmethod
    async def _answer(scope: Scope, receive: Receive, send: Send, problem: Problem) -> int:
        response = problem_response(
            Request(scope),
            status=problem.status,
            code=problem.code,
            detail=problem.detail,
            title=problem.title,
            extensions=problem.extensions,
            headers=problem.headers,
        )
        try:
            await response(scope, receive, send)
        except RuntimeError:
            # The response had already started (an upstream body broke mid-way): the
            # server closes the connection, which is all the client can still be told.
            _log.info("problem_after_response_start", code=problem.code)
        return problem.status


class GatewayEntry:
    """The ASGI app the server runs. ``state`` and ``router`` are the service app's, so the
    lifespan (and tests driving it) find what the kit's ``create_app`` put there."""

    def __init__(
        self,
        service_app: FastAPI,
        proxy: ASGIApp,
        gateway: Gateway,
        *,
        metrics_reader: Callable[[str], bool],
    ) -> None:
        self.service_app = service_app
        self.state = service_app.state
        self.router = service_app.router
        self.gateway = gateway
        self._proxy = proxy
        self._metrics_reader = metrics_reader

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.service_app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(_HEALTH_PREFIX) or (
            path == _METRICS_PATH and self._metrics_reader(_peer(scope))
        ):
            await self.service_app(scope, receive, send)
            return
        await self._proxy(scope, receive, send)


def _peer(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""
