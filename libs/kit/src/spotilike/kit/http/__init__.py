"""Service-to-service HTTP: timeouts, safe retries, a circuit breaker per upstream, and
request id and trace context propagation. See :mod:`spotilike.kit.http.client`."""

from spotilike.kit.http.breaker import CIRCUIT_STATE, CircuitBreaker, CircuitState, Permit
from spotilike.kit.http.client import REQUEST_ID_HEADER, UPSTREAM_ATTEMPTS, ServiceClient
from spotilike.kit.http.errors import (
    CircuitOpenError,
    UpstreamConnectionError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from spotilike.kit.http.response import ServiceResponse
from spotilike.kit.http.retry import (
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENT_METHODS,
    RetryPolicy,
    is_retryable_request,
    parse_retry_after,
)

__all__ = [
    "CIRCUIT_STATE",
    "IDEMPOTENCY_KEY_HEADER",
    "IDEMPOTENT_METHODS",
    "REQUEST_ID_HEADER",
    "UPSTREAM_ATTEMPTS",
    "CircuitBreaker",
    "CircuitOpenError",
    "CircuitState",
    "Permit",
    "RetryPolicy",
    "ServiceClient",
    "ServiceResponse",
    "UpstreamConnectionError",
    "UpstreamError",
    "UpstreamStatusError",
    "UpstreamTimeoutError",
    "UpstreamUnavailableError",
    "is_retryable_request",
    "parse_retry_after",
]
