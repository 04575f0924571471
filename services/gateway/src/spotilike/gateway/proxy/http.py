"""Forwarding one HTTP request upstream, streaming the bodies both ways.

Nothing is buffered: the request body goes upstream chunk by chunk as the client sends
it (the connection pool writes it while we wait for the answer), and the response body
goes back the same way, with both sides' flow control in between, so a 1 GB upload or a
long segment costs the gateway a few chunks of memory (``connections/``; the body's
limits are in ``body.py``).

Resilience, per upstream service:

- the kit's circuit breaker sees every attempt; 5xx, timeouts and connection failures
  count against it, 4xx do not; while it is open requests fail fast with 503;
- a request is retried only when it is idempotent (GET, HEAD, OPTIONS, PUT, DELETE)
  *and* has no body (a streamed body cannot be sent twice), only after a connection
  failure or a 503 before any byte reached the client, only while the route's deadline
  leaves time, and only while the service's retry budget has room;
- bodies are capped at ``max_body_bytes``: 413 from the declared length before anything
  is sent, or as soon as a streamed body passes the cap (the upstream request is aborted);
- the route timeout bounds the wait for response headers, counted from the last request
  byte sent; after that, the idle timeout bounds each silence in the response body.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Final

import structlog
from prometheus_client import Counter
from starlette.types import Receive, Scope, Send

from spotilike.gateway.balancing import Lease
from spotilike.gateway.budget import RetryBudget
from spotilike.gateway.proxy.admission import Admitted
from spotilike.gateway.proxy.body import RequestBody, raise_for_body
from spotilike.gateway.proxy.connections import Deadline, UpstreamResponse
from spotilike.gateway.proxy.headers import request_headers, response_headers
from spotilike.gateway.proxy.upstreams import Upstreams
from spotilike.gateway.routing import Route
from spotilike.kit.errors import Problem
from spotilike.kit.http import IDEMPOTENT_METHODS, CircuitOpenError, Permit

__all__ = ["UPSTREAM_OUTCOMES", "HttpForwarder", "upstream_target"]

UPSTREAM_OUTCOMES = Counter(
    "spotilike_gateway_upstream_attempts_total",
    "Attempts to reach an upstream service, by outcome: the status class (2xx..5xx), "
    "timeout, connection_error, circuit_open or no_instance.",
    ["service", "outcome"],
)

_log = structlog.get_logger(__name__)

# prometheus_client's labels() takes a lock and builds a key on every call; a request
# counts one outcome per attempt.
_OUTCOME_COUNTERS: dict[tuple[str, str], Counter] = {}


def _outcome(service: str, outcome: str) -> Counter:
    counter = _OUTCOME_COUNTERS.get((service, outcome))
    if counter is None:
        counter = _OUTCOME_COUNTERS[service, outcome] = UPSTREAM_OUTCOMES.labels(service, outcome)
    return counter


# Responses at least this big (or of unknown size) get a watcher for the client going
# away, so a dropped download stops pulling bytes from the upstream.
_WATCH_ABOVE_BYTES: Final = 256 * 1024
_MIN_ATTEMPT_SECONDS: Final = 0.05
# What the metrics record when the client left before any answer (nginx's 499).
_CLIENT_CLOSED_REQUEST: Final = 499


def _outgoing_headers(scope: Scope, admitted: Admitted) -> list[tuple[bytes, bytes]]:
    return request_headers(
        scope["headers"],
        facts=admitted.facts,
        request_id=scope.get("state", {}).get("request_id"),
        identity=admitted.identity,
        connection_tokens=admitted.head.connection_tokens,
    )


def upstream_target(scope: Scope, route: Route) -> str:
    """The request target sent upstream: the path as received (still percent-encoded),
    without the route's prefix when it strips it, and the query."""
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    target = route.upstream_path(raw_path.decode("latin-1"))
    query: bytes = scope.get("query_string", b"")
    return target + "?" + query.decode("latin-1") if query else target


def _unavailable(route: Route, *, timed_out: bool) -> Problem:
    if timed_out:
        return Problem(
            f"The {route.service} service did not answer within {route.timeout_seconds:g} s.",
            status=HTTPStatus.GATEWAY_TIMEOUT,
            code="upstream-timeout",
        )
    return Problem(
        f"The {route.service} service could not be reached.",
        status=HTTPStatus.BAD_GATEWAY,
        code="upstream-unreachable",
    )


def _declared_length(headers: Sequence[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class HttpForwarder:
    def __init__(self, upstreams: Upstreams) -> None:
        self._upstreams = upstreams
        settings = upstreams.settings
        self._idle = settings.idle_timeout_seconds
        self._max_attempts = settings.max_attempts
        self._max_body = settings.max_body_bytes
        self._min_body_rate = settings.min_body_bytes_per_second

    async def forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        admitted: Admitted,
        id_header: tuple[bytes, bytes],
    ) -> int:
        """Relays the upstream's answer (with ``id_header`` added) and returns its status;
        raises :class:`Problem` when there is no answer to relay."""
        route = admitted.route
        service = route.service
        method: str = scope["method"]
        body = (
            RequestBody(
                receive,
                idle_seconds=self._idle,
                route_seconds=route.timeout_seconds,
                limit=self._max_body,
                min_rate=self._min_body_rate,
            )
            if admitted.head.declares_body
            else None
        )
        retryable = body is None and method in IDEMPOTENT_METHODS
        attempts_allowed = self._max_attempts if retryable else 1
        headers = _outgoing_headers(scope, admitted)
        target = upstream_target(scope, route)
        budget = self._upstreams.budget(service)
        budget.record_request()
        deadline = Deadline(asyncio.get_running_loop().time() + route.timeout_seconds)
        if body is not None:
            body.bind(deadline)
        tried: set[str] = set()
        attempt = 0
        while True:
            attempt += 1
            permit, lease = self._take_instance(service, tried)
            tried.add(lease.upstream.base_url)
            try:
                response = await self._upstreams.pool.request(
                    lease.upstream.base_url,
                    method,
                    target,
                    headers,
                    body.chunks() if body is not None else None,
                    deadline=deadline,
                    body_length=admitted.head.body_length,
                )
            except (TimeoutError, OSError) as exc:
                if body is not None and body.gone is not None:
                    permit.release()
                    lease.release()
                    raise_for_body(
                        body.gone,
                        idle_seconds=self._idle,
                        limit=self._max_body,
                        min_rate=self._min_body_rate,
                    )
                    return _CLIENT_CLOSED_REQUEST
                permit.failure()
                lease.failure()
                timed_out = isinstance(exc, TimeoutError)
                outcome = "timeout" if timed_out else "connection_error"
                _outcome(service, outcome).inc()
                if timed_out or not self._may_retry(attempt, attempts_allowed, deadline.at, budget):
                    raise _unavailable(route, timed_out=timed_out) from None
                _log.info("upstream_retry", service=service, reason=type(exc).__name__)
                continue
            status = response.status
            _outcome(service, f"{status // 100}xx").inc()
            if status < 500:
                permit.success()
                lease.success()
            else:
                permit.failure()
                lease.failure()
                if status == HTTPStatus.SERVICE_UNAVAILABLE and self._may_retry(
                    attempt, attempts_allowed, deadline.at, budget
                ):
                    response.release()
                    continue
            await self._relay(
                response,
                send,
                receive,
                admitted.rate_limit_headers,
                body,
                id_header=id_header,
                # The wait for the first body bytes may be as long as the route's deadline.
                idle_seconds=max(self._idle, route.timeout_seconds),
            )
            return status

    @staticmethod
    def _may_retry(attempt: int, allowed: int, deadline_at: float, budget: RetryBudget) -> bool:
        loop = asyncio.get_running_loop()
        if attempt >= allowed or loop.time() + _MIN_ATTEMPT_SECONDS >= deadline_at:
            return False
        return budget.try_spend()

    def _take_instance(self, service: str, tried: set[str]) -> tuple[Permit, Lease]:
        try:
            permit = self._upstreams.breaker(service).acquire()
        except CircuitOpenError as exc:
            _outcome(service, "circuit_open").inc()
            raise Problem(
                f"The {service} service is failing; the gateway is not calling it for now.",
                status=HTTPStatus.SERVICE_UNAVAILABLE,
                code="upstream-unavailable",
                headers={"Retry-After": str(max(1, math.ceil(exc.retry_in)))},
            ) from None
        balancer = self._upstreams.balancer
        # A retry prefers an instance not tried yet, but a lone instance may be tried again.
        lease = balancer.acquire(service, exclude=tried) or (
            balancer.acquire(service) if tried else None
        )
        if lease is None:
            permit.release()
            _outcome(service, "no_instance").inc()
            raise Problem(
                f"No instance of the {service} service is known.",
                status=HTTPStatus.SERVICE_UNAVAILABLE,
                code="no-upstream-instance",
                headers={"Retry-After": "5"},
            )
        return permit, lease

    async def _send_within_idle(self, send: Send, chunk: bytes) -> bool:
        """Relays one chunk; False when the client has not taken it within the idle
        timeout. A client that stops reading blocks the server's send, and must not hold
        the upstream connection (and the pool's room) for longer than one silence."""
        try:
            async with asyncio.timeout(self._idle):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except TimeoutError:
            _log.info("client_stopped_reading", idle_seconds=self._idle)
            return False
        return True

    async def _relay(
        self,
        response: UpstreamResponse,
        send: Send,
        receive: Receive,
        extra_headers: Mapping[str, str],
        body: RequestBody | None,
        *,
        id_header: tuple[bytes, bytes],
        idle_seconds: float,
    ) -> None:
        headers = response_headers(response.headers)
        headers.append(id_header)
        for name, value in extra_headers.items():
            headers.append((name.encode("latin-1"), value.encode("latin-1")))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        if response.complete:
            # The whole answer came with its headers (most API answers): one message.
            await send({"type": "http.response.body", "body": response.take_body()})
            response.release()
            return
        watcher: asyncio.Task[None] | None = None
        length = _declared_length(response.headers)
        if (body is None or body.finished) and (length is None or length > _WATCH_ABOVE_BYTES):
            watcher = asyncio.create_task(_close_when_client_leaves(receive, response))
        try:
            while chunk := await response.read(idle_seconds):
                if not await self._send_within_idle(send, chunk):
                    response.close()
                    return
        except (OSError, TimeoutError) as exc:
            # Too late for an error response: ending without the final empty chunk makes
            # the server drop the connection, so the client sees a truncated body.
            if watcher is None or not watcher.done():
                _log.warning("upstream_body_broken", error=type(exc).__name__)
            response.close()
            return
        finally:
            if watcher is not None:
                watcher.cancel()
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        response.release()


async def _close_when_client_leaves(receive: Receive, response: UpstreamResponse) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            response.close()
            return
