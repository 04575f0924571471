"""The client every Spotilike service uses to call another one.

One :class:`ServiceClient` per upstream, created in the service's composition root and
kept for its lifetime: it owns the aiohttp connection pool and, unless one is passed in,
the upstream's circuit breaker. Each call

- sends ``X-Request-ID`` from :func:`spotilike.kit.context.current_request_id` and the
  W3C ``traceparent`` of a client span started for each attempt;
- has a timeout per attempt (the client's default or the call's ``attempt_timeout``) and, when
  the caller passes ``deadline``, a budget in seconds for all attempts and pauses together;
- goes through the breaker, which counts 5xx, timeouts and connection failures (4xx are
  the caller's mistake, not the upstream's ill health);
- is retried per :mod:`spotilike.kit.http.retry` (idempotent requests only).

Bodies are read fully: this client is for JSON between services. Redirects are not
followed, because an internal API that redirects is a bug to see rather than to hide.
"""

from __future__ import annotations

import json as jsonlib
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import TracebackType
from typing import Self

import aiohttp
import structlog
from multidict import CIMultiDict
from tenacity import RetryCallState
from yarl import URL, Query

from spotilike.kit.context import current_request_id
from spotilike.kit.http.attempt import UPSTREAM_ATTEMPTS, send_attempt
from spotilike.kit.http.breaker import CircuitBreaker
from spotilike.kit.http.errors import UpstreamStatusError, UpstreamTimeoutError
from spotilike.kit.http.response import ServiceResponse
from spotilike.kit.http.retry import RetryPolicy, call_with_retries, is_retryable_request

__all__ = ["REQUEST_ID_HEADER", "UPSTREAM_ATTEMPTS", "ServiceClient"]

REQUEST_ID_HEADER = "X-Request-ID"

_log = structlog.get_logger(__name__)


class ServiceClient:
    """An async context manager; ``async with ServiceClient(...) as catalog: ...``."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        attempt_timeout: float = 5.0,
        breaker: CircuitBreaker | None = None,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if attempt_timeout <= 0:
            raise ValueError(f"attempt_timeout must be positive, got {attempt_timeout}")
        url = URL(base_url)
        if url.scheme not in {"http", "https"} or not url.host:
            raise ValueError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.attempt_timeout = attempt_timeout
        self.breaker = breaker if breaker is not None else CircuitBreaker(name)
        self.retry = retry if retry is not None else RetryPolicy()
        self._default_headers = dict(headers or {})
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._default_headers)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(
        self,
        path: str,
        *,
        params: Query = None,
        headers: Mapping[str, str] | None = None,
        attempt_timeout: float | None = None,
        deadline: float | None = None,
        raise_for_status: bool = False,
    ) -> ServiceResponse:
        return await self.request(
            "GET",
            path,
            params=params,
            headers=headers,
            attempt_timeout=attempt_timeout,
            deadline=deadline,
            raise_for_status=raise_for_status,
        )

    async def head(
        self,
        path: str,
        *,
        params: Query = None,
        headers: Mapping[str, str] | None = None,
        attempt_timeout: float | None = None,
        deadline: float | None = None,
        raise_for_status: bool = False,
    ) -> ServiceResponse:
        return await self.request(
            "HEAD",
            path,
            params=params,
            headers=headers,
            attempt_timeout=attempt_timeout,
            deadline=deadline,
            raise_for_status=raise_for_status,
        )

    async def delete(
        self,
        path: str,
        *,
        params: Query = None,
        headers: Mapping[str, str] | None = None,
        attempt_timeout: float | None = None,
        deadline: float | None = None,
        raise_for_status: bool = False,
    ) -> ServiceResponse:
        return await self.request(
            "DELETE",
            path,
            params=params,
            headers=headers,
            attempt_timeout=attempt_timeout,
            deadline=deadline,
            raise_for_status=raise_for_status,
        )

    async def post(
        self,
        path: str,
        *,
        json: object | None = None,
        content: bytes | None = None,
        params: Query = None,
        headers: Mapping[str, str] | None = None,
        attempt_timeout: float | None = None,
        deadline: float | None = None,
        raise_for_status: bool = False,
    ) -> ServiceResponse:
        return await self.request(
            "POST",
            path,
            json=json,
            content=content,
            params=params,
            headers=headers,
            attempt_timeout=attempt_timeout,
            deadline=deadline,
            raise_for_status=raise_for_status,
        )

    async def put(
        self,
        path: str,
        *,
        json: object | None = None,
        content: bytes | None = None,
        params: Query = None,
        headers: Mapping[str, str] | None = None,
        attempt_timeout: float | None = None,
        deadline: float | None = None,
        raise_for_status: bool = False,
    ) -> ServiceResponse:
        return await self.request(
            "PUT",
            path,
            json=json,
            content=content,
            params=params,
            headers=headers,
            attempt_timeout=attempt_timeout,
            deadline=deadline,
            raise_for_status=raise_for_status,
        )

    async def patch(
        self,
        path: str,
        *,
        json: object | None = None,
        content: bytes | None = None,
        params: Query = None,
        headers: Mapping[str, str] | None = None,
        attempt_timeout: float | None = None,
        deadline: float | None = None,
        raise_for_status: bool = False,
    ) -> ServiceResponse:
        return await self.request(
            "PATCH",
            path,
            json=json,
            content=content,
            params=params,
            headers=headers,
            attempt_timeout=attempt_timeout,
            deadline=deadline,
            raise_for_status=raise_for_status,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: object | None = None,
        content: bytes | None = None,
        params: Query = None,
        headers: Mapping[str, str] | None = None,
        attempt_timeout: float | None = None,
        deadline: float | None = None,
        raise_for_status: bool = False,
    ) -> ServiceResponse:
        """Sends ``method path`` to the upstream and reads the whole response.

        ``json`` is serialised once, so every attempt sends the same bytes; ``content`` is
        sent as is. ``attempt_timeout`` bounds each attempt; ``deadline`` (seconds from now) bounds
        the whole call including retries and the pauses between them.

        Raises :class:`CircuitOpenError` without contacting the upstream while its circuit
        is open, :class:`UpstreamTimeoutError` / :class:`UpstreamConnectionError` when no
        attempt got a response, and :class:`UpstreamStatusError` for a status >= 400 only
        when ``raise_for_status`` is set.
        """
        session = self._require_session()
        method = method.upper()
        if json is not None and content is not None:
            raise ValueError("pass either json or content, not both")
        per_attempt = self.attempt_timeout if attempt_timeout is None else attempt_timeout
        if per_attempt <= 0:
            raise ValueError(f"attempt_timeout must be positive, got {per_attempt}")

        outgoing: CIMultiDict[str] = CIMultiDict(headers or {})
        body = content
        if json is not None:
            body = jsonlib.dumps(json, separators=(",", ":")).encode()
            outgoing.setdefault("Content-Type", "application/json")
        request_id = current_request_id()
        if request_id is not None:
            outgoing.setdefault(REQUEST_ID_HEADER, request_id)

        policy = self.retry
        if not is_retryable_request(method, outgoing):
            policy = replace(policy, max_attempts=1)
        deadline_at = None if deadline is None else self._clock() + deadline
        if deadline is not None and deadline < policy.min_attempt_seconds:
            raise UpstreamTimeoutError(
                self.name,
                f"{method} {path} to upstream {self.name!r} not sent: the caller's deadline "
                f"({deadline:.3f}s) leaves no time for an attempt",
                attempts=0,
            )

        url = f"{self.base_url}/{path.lstrip('/')}"
        attempts = 0

        async def attempt() -> ServiceResponse:
            nonlocal attempts
            attempts += 1
            budget = per_attempt
            if deadline_at is not None:
                budget = min(budget, deadline_at - self._clock())
            return await send_attempt(
                session,
                upstream=self.name,
                breaker=self.breaker,
                method=method,
                url=url,
                path=path,
                params=params,
                headers=outgoing,
                body=body,
                seconds=budget,
                attempt=attempts,
            )

        def log_retry(retry_state: RetryCallState) -> None:
            outcome = retry_state.outcome
            reason = "unknown"
            if outcome is not None:
                reason = (
                    type(outcome.exception()).__name__
                    if outcome.failed
                    else f"status {outcome.result().status}"
                )
            _log.info(
                "upstream_retry",
                upstream=self.name,
                method=method,
                path=path,
                attempt=retry_state.attempt_number,
                reason=reason,
                wait_seconds=round(retry_state.upcoming_sleep, 3),
            )

        response = await call_with_retries(
            attempt,
            policy=policy,
            deadline_at=deadline_at,
            clock=self._clock,
            on_retry=log_retry,
        )
        if raise_for_status and not response.ok:
            raise UpstreamStatusError(
                self.name,
                f"{method} {path} to upstream {self.name!r} answered {response.status}",
                response=response,
            )
        return response

    def _require_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError(
                f"ServiceClient {self.name!r} is not open: use "
                "`async with ServiceClient(...) as client:` before calling it"
            )
        return self._session
