"""How every service's OpenAPI document describes its errors, declared once.

Every error leaves through :mod:`spotilike.kit.errors` as an RFC 9457 problem document in
``application/problem+json``; FastAPI's default 422 (``HTTPValidationError`` as
``application/json``) describes neither the media type nor the body we send, so routers
declare the statuses they answer with through :func:`problem_responses`. The schema is
written out rather than generated from a model: FastAPI files a response ``model`` under
``application/json``, which is exactly the media type we never send.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from spotilike.kit.errors import PROBLEM_CONTENT_TYPE

__all__ = ["OPTIONAL_BEARER", "PROBLEM_SCHEMA", "ProblemResponses"]

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string", "description": "A URI whose last segments are the code."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "The request path."},
        "request_id": {"type": "string", "description": "Quote it when reporting a problem."},
        "errors": {
            "type": "array",
            "description": "On 422: one entry per invalid value.",
            "items": {
                "type": "object",
                # A rule a service checks itself names where and why; "type" comes with
                # the schema validation errors only.
                "required": ["pointer", "detail"],
                "properties": {
                    "in": {"type": "string", "description": "body, query, path, header, cookie"},
                    "pointer": {"type": "string", "description": "RFC 6901, inside 'in'."},
                    "detail": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
        "existing": {
            "type": "object",
            "description": "On a duplicate (409): the resource the request collides with.",
        },
    },
    # Problem types carry their own extension members (a risk challenge, a retry hint).
    "additionalProperties": True,
}

_HEADERS: dict[int, dict[str, Any]] = {
    HTTPStatus.UNAUTHORIZED: {
        "WWW-Authenticate": {
            "description": "The bearer challenge (RFC 6750), with the error when a token was sent.",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    HTTPStatus.TOO_MANY_REQUESTS: {
        "Retry-After": {
            "description": "Seconds until the limit or the lockout lifts.",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}

OPTIONAL_BEARER: dict[str, Any] = {"security": [{}]}
"""``openapi_extra`` for a route that serves anonymous callers too and reads a token when
one is sent. FastAPI marks the bearer scheme required on every route that reads it; this
empty requirement, appended to that list, means "or no credentials at all"."""


class ProblemResponses:
    """A service's problem statuses with the sentence each means there, as FastAPI
    ``responses`` entries: ``PROBLEMS(401, 404)``."""

    def __init__(self, descriptions: Mapping[int, str]) -> None:
        self.entries: dict[int | str, dict[str, Any]] = {
            int(status): {
                "description": description,
                "content": {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_SCHEMA}},
                **({"headers": _HEADERS[status]} if status in _HEADERS else {}),
            }
            for status, description in descriptions.items()
        }

    def __call__(self, *statuses: int) -> dict[int | str, dict[str, Any]]:
        unknown = sorted(set(statuses) - set(self.entries))
        if unknown:
            raise KeyError(f"no problem response described for {unknown}")
        return {status: self.entries[status] for status in statuses}
