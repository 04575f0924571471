"""When and how a service-to-service call is retried.

Only requests that can safely be sent twice are retried: GET, HEAD, OPTIONS, PUT and
DELETE are idempotent by definition (RFC 9110 §9.2.2). POST and PATCH are retried only when
the caller sends an ``Idempotency-Key`` header, the promise that the upstream deduplicates
them; without it a retried POST after a lost response could create a second playlist or
charge a card twice, so we send it once and hand any failure to the caller.

A retry happens after a connection failure, a timeout, or a 502/503/504 response. The wait
before it is exponential backoff with full jitter (a uniform draw from
``[0, min(max_backoff, backoff_base * 2**(n-1))]``), so callers that failed together do not
come back together; a 503 with ``Retry-After`` is waited out as asked, unless that is longer
than ``max_backoff``. Everything stays inside the caller's deadline: no pause that would end
past it, no attempt that would start with less than ``min_attempt_seconds`` left.

The loop is tenacity's: its ``wait`` runs before its ``stop``, so the stop rule sees the
pause about to be taken and can refuse it when it would cross the deadline.
"""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_result,
    wait_random_exponential,
)

from spotilike.kit.http.errors import UpstreamConnectionError, UpstreamTimeoutError
from spotilike.kit.http.response import ServiceResponse

__all__ = [
    "IDEMPOTENCY_KEY_HEADER",
    "IDEMPOTENT_METHODS",
    "MAX_ATTEMPTS_LIMIT",
    "RetryPolicy",
    "call_with_retries",
    "is_retryable_request",
    "parse_retry_after",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
# Retries multiply across layers (gateway → service → service); three tries per hop keeps
# the worst case bounded.
MAX_ATTEMPTS_LIMIT = 3

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry; ``max_attempts`` counts the first try too."""

    max_attempts: int = 3
    backoff_base: float = 0.1
    max_backoff: float = 2.0
    min_attempt_seconds: float = 0.05
    retry_statuses: frozenset[int] = field(
        default=frozenset(
            {HTTPStatus.BAD_GATEWAY, HTTPStatus.SERVICE_UNAVAILABLE, HTTPStatus.GATEWAY_TIMEOUT}
        )
    )

    def __post_init__(self) -> None:
        if not 1 <= self.max_attempts <= MAX_ATTEMPTS_LIMIT:
            raise ValueError(
                f"max_attempts must be between 1 and {MAX_ATTEMPTS_LIMIT}, got {self.max_attempts}"
            )
        if self.backoff_base < 0 or self.max_backoff < 0 or self.min_attempt_seconds < 0:
            raise ValueError("backoff_base, max_backoff and min_attempt_seconds must be >= 0")


def is_retryable_request(method: str, headers: Mapping[str, str]) -> bool:
    """Whether a request may be sent again; ``headers`` must match names case-insensitively."""
    method = method.upper()
    if method in IDEMPOTENT_METHODS:
        return True
    return method in {"POST", "PATCH"} and bool(headers.get(IDEMPOTENCY_KEY_HEADER))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delay-seconds or an HTTP-date).

    Returns None when the header is absent or unreadable, so the caller falls back to
    its own backoff.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _response_retry_after(retry_state: RetryCallState) -> float | None:
    outcome = retry_state.outcome
    if outcome is None or outcome.failed:
        return None
    response: ServiceResponse = outcome.result()
    if response.status != HTTPStatus.SERVICE_UNAVAILABLE:
        return None
    return parse_retry_after(response.headers.get("Retry-After"))


def _give_up(retry_state: RetryCallState) -> Any:
    """Ends the loop with the last outcome: its response, or its exception raised again."""
    assert retry_state.outcome is not None
    return retry_state.outcome.result()


async def call_with_retries(
    attempt: Callable[[], Awaitable[ServiceResponse]],
    *,
    policy: RetryPolicy,
    deadline_at: float | None,
    clock: Clock,
    on_retry: Callable[[RetryCallState], None] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> ServiceResponse:
    """Runs ``attempt`` until it gives a final answer, the attempts run out or time does.

    Returns the last response even when it is a retryable status (the caller decides what
    a 503 means to it); raises the last transport error when every attempt failed so.
    ``deadline_at`` is a point on ``clock``; ``sleep`` is replaceable so tests can move a
    fake clock instead of waiting.
    """
    jitter = wait_random_exponential(multiplier=policy.backoff_base, max=policy.max_backoff)

    def wait(retry_state: RetryCallState) -> float:
        retry_after = _response_retry_after(retry_state)
        return retry_after if retry_after is not None else jitter(retry_state)

    def stop(retry_state: RetryCallState) -> bool:
        if retry_state.attempt_number >= policy.max_attempts:
            return True
        if retry_state.upcoming_sleep > policy.max_backoff:
            return True
        if deadline_at is None:
            return False
        next_start = clock() + retry_state.upcoming_sleep
        return next_start + policy.min_attempt_seconds > deadline_at

    retrying = AsyncRetrying(
        stop=stop,
        wait=wait,
        retry=(
            retry_if_exception_type((UpstreamTimeoutError, UpstreamConnectionError))
            | retry_if_result(lambda response: response.status in policy.retry_statuses)
        ),
        retry_error_callback=_give_up,
        before_sleep=on_retry,
        sleep=sleep,
        reraise=True,
    )
    response: ServiceResponse = await retrying(attempt)
    return response
