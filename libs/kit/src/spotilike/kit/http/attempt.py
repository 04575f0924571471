"""One attempt at an upstream call: through the circuit breaker, inside a client span that
carries the trace context, bounded by its timeout and counted in :data:`UPSTREAM_ATTEMPTS`.
"""

from __future__ import annotations

import asyncio

import aiohttp
from multidict import CIMultiDict
from opentelemetry import propagate, trace
from prometheus_client import Counter
from yarl import Query

from spotilike.kit.http.breaker import CircuitBreaker
from spotilike.kit.http.errors import (
    CircuitOpenError,
    UpstreamConnectionError,
    UpstreamTimeoutError,
)
from spotilike.kit.http.response import ServiceResponse

__all__ = ["UPSTREAM_ATTEMPTS", "send_attempt"]

UPSTREAM_ATTEMPTS = Counter(
    "spotilike_upstream_attempts",
    "Requests sent to (or refused for) an upstream, one per attempt, by outcome: the status "
    "class (2xx..5xx), timeout, connection_error or circuit_open.",
    ["upstream", "method", "outcome"],
)

_tracer = trace.get_tracer(__name__)


async def send_attempt(
    session: aiohttp.ClientSession,
    *,
    upstream: str,
    breaker: CircuitBreaker,
    method: str,
    url: str,
    path: str,
    params: Query,
    headers: CIMultiDict[str],
    body: bytes | None,
    seconds: float,
    attempt: int,
) -> ServiceResponse:
    try:
        permit = breaker.acquire()
    except CircuitOpenError:
        UPSTREAM_ATTEMPTS.labels(upstream, method, "circuit_open").inc()
        raise
    with _tracer.start_as_current_span(
        method,
        kind=trace.SpanKind.CLIENT,
        attributes={
            "http.request.method": method,
            "url.full": url,
            "peer.service": upstream,
            "http.request.resend_count": attempt - 1,
        },
    ) as span:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        sent = headers.copy()
        sent.update(carrier)
        try:
            async with (
                asyncio.timeout(seconds),
                session.request(
                    method,
                    url,
                    params=params,
                    data=body,
                    headers=sent,
                    allow_redirects=False,
                ) as raw,
            ):
                payload = await raw.read()
        except TimeoutError as exc:
            permit.failure()
            UPSTREAM_ATTEMPTS.labels(upstream, method, "timeout").inc()
            span.set_attribute("error.type", "timeout")
            raise UpstreamTimeoutError(
                upstream,
                f"{method} {path} to upstream {upstream!r} timed out after "
                f"{seconds:.3f}s; gave up after {attempt} attempt(s)",
                attempts=attempt,
            ) from exc
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            permit.failure()
            UPSTREAM_ATTEMPTS.labels(upstream, method, "connection_error").inc()
            span.set_attribute("error.type", type(exc).__name__)
            raise UpstreamConnectionError(
                upstream,
                f"{method} {path} to upstream {upstream!r} failed: {exc!r}; "
                f"gave up after {attempt} attempt(s)",
                attempts=attempt,
            ) from exc
        except BaseException:
            permit.release()
            raise
        status = raw.status
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            permit.failure()
            span.set_attribute("error.type", str(status))
        else:
            permit.success()
        UPSTREAM_ATTEMPTS.labels(upstream, method, f"{status // 100}xx").inc()
        return ServiceResponse(status=status, headers=raw.headers, body=payload, attempts=attempt)
