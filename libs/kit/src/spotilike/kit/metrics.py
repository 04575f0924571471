"""Prometheus metrics shared by every service, served at ``/metrics``."""

from __future__ import annotations

from typing import Final

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "DB_READ_SESSIONS",
    "HTTP_LATENCY",
    "HTTP_REQUESTS",
    "method_label",
    "metrics_endpoint",
]

HTTP_REQUESTS = Counter(
    "spotilike_http_requests_total",
    "HTTP requests by route template and status",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "spotilike_http_request_duration_seconds",
    "HTTP request latency by route template",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# RFC 9110's methods and PATCH. A server may accept any token as a method (granian does), and
# a label per invented method would grow the metrics without bound.
_LABELLED_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)


def method_label(method: str) -> str:
    """The ``method`` label of a request: its method if standard, ``OTHER`` if not."""
    return method if method in _LABELLED_METHODS else "OTHER"


DB_READ_SESSIONS = Counter(
    "spotilike_db_read_sessions_total",
    "Read sessions by the server they went to (replica, or primary and why)",
    ["application", "target"],
)


async def metrics_endpoint(_request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
