"""Values that belong to the request being handled, carried across ``await`` points.

The app middleware sets :data:`request_id_var` for each incoming request; the logging
setup and the service-to-service HTTP client read it, so one id follows a request through
every service it touches.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["current_request_id", "request_id_var"]

request_id_var: ContextVar[str | None] = ContextVar("spotilike_request_id", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()
