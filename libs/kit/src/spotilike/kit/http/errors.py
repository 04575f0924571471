"""What a :class:`~spotilike.kit.http.ServiceClient` raises.

Every exception names the upstream. :class:`UpstreamUnavailableError` and its subclasses
mean no usable response arrived (circuit open, timeout, connection failure), which is the
case a caller degrades gracefully on; an upstream that answered with an error status is
returned as a response, or raised as :class:`UpstreamStatusError` only when the caller
asked for ``raise_for_status``.
"""

from __future__ import annotations

from spotilike.kit.http.response import ServiceResponse

__all__ = [
    "CircuitOpenError",
    "UpstreamConnectionError",
    "UpstreamError",
    "UpstreamStatusError",
    "UpstreamTimeoutError",
    "UpstreamUnavailableError",
]


class UpstreamError(Exception):
    def __init__(self, upstream: str, message: str) -> None:
        super().__init__(message)
        self.upstream = upstream


class UpstreamUnavailableError(UpstreamError):
    pass


class CircuitOpenError(UpstreamUnavailableError):
    """The breaker refused the call; the upstream was not contacted.

    ``retry_in`` is the number of seconds until the breaker lets a trial call through
    (0 when it is half-open and all its trial calls are already in flight).
    """

    def __init__(self, upstream: str, *, retry_in: float, reason: str) -> None:
        super().__init__(
            upstream,
            f"circuit breaker for upstream {upstream!r} is {reason}: failing fast without "
            f"calling it; next trial call possible in {retry_in:.2f}s",
        )
        self.retry_in = retry_in


class UpstreamTimeoutError(UpstreamUnavailableError):
    """No response in time. ``attempts`` is 0 when the deadline left no room for one."""

    def __init__(self, upstream: str, message: str, *, attempts: int) -> None:
        super().__init__(upstream, message)
        self.attempts = attempts


class UpstreamConnectionError(UpstreamUnavailableError):
    def __init__(self, upstream: str, message: str, *, attempts: int) -> None:
        super().__init__(upstream, message)
        self.attempts = attempts


class UpstreamStatusError(UpstreamError):
    def __init__(self, upstream: str, message: str, *, response: ServiceResponse) -> None:
        super().__init__(upstream, message)
        self.response = response
        self.status = response.status
