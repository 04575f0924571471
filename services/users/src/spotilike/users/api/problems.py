"""The error responses the users API documents, declared once for every router.

Every error leaves through ``spotilike.kit.errors`` as an RFC 9457 problem document in
``application/problem+json``; FastAPI's default 422 (``HTTPValidationError`` as
``application/json``) describes neither the media type nor the body we send, so each
router declares the statuses it can answer with from :data:`PROBLEM_RESPONSES` instead.
The schema is written out rather than generated from a model: FastAPI files a response
``model`` under ``application/json``, which is exactly the media type we never send.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from spotilike.kit.errors import PROBLEM_CONTENT_TYPE

__all__ = ["PROBLEM_RESPONSES", "PROBLEM_SCHEMA", "problem_responses"]

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
                # A rule the service checks itself (the password policy, a spent token)
                # names only the pointer and the reason; "in" and "type" come with the
                # schema validation errors.
                "required": ["pointer", "detail"],
                "properties": {
                    "in": {"type": "string", "description": "body, query, path, header, cookie"},
                    "pointer": {"type": "string", "description": "RFC 6901, inside 'in'."},
                    "detail": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    # Problem types carry their own extension members (a risk challenge, a retry hint).
    "additionalProperties": True,
}

_WWW_AUTHENTICATE = {
    "description": "The bearer challenge (RFC 6750), with the error when a token was sent.",
    "required": True,
    "schema": {"type": "string"},
}
_RETRY_AFTER = {
    "description": "Seconds until the limit or the lockout lifts.",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}

_DESCRIPTIONS = {
    HTTPStatus.BAD_REQUEST: "The body is not the JSON its Content-Type says it is.",
    HTTPStatus.UNAUTHORIZED: "No access token, or one that is invalid, expired or revoked.",
    HTTPStatus.FORBIDDEN: "The caller may not do this (role, disabled account, risk check).",
    HTTPStatus.NOT_FOUND: "No such resource, or not one the caller may see.",
    HTTPStatus.CONFLICT: "The change conflicts with the current state (a taken email).",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "The request body is over the service's cap.",
    HTTPStatus.UNPROCESSABLE_ENTITY: "A value is invalid; 'errors' names each one.",
    HTTPStatus.TOO_MANY_REQUESTS: "Rate limited or locked out; wait for Retry-After.",
}
_HEADERS = {
    HTTPStatus.UNAUTHORIZED: {"WWW-Authenticate": _WWW_AUTHENTICATE},
    HTTPStatus.TOO_MANY_REQUESTS: {"Retry-After": _RETRY_AFTER},
}

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    int(status): {
        "description": description,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_SCHEMA}},
        **({"headers": _HEADERS[status]} if status in _HEADERS else {}),
    }
    for status, description in _DESCRIPTIONS.items()
}
"""Every problem status the users API answers with, as FastAPI ``responses`` entries."""


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The :data:`PROBLEM_RESPONSES` entries for ``statuses``, for a router's ``responses``."""
    unknown = sorted(set(statuses) - set(PROBLEM_RESPONSES))
    if unknown:
        raise KeyError(f"no problem response declared for {unknown}; add it to _DESCRIPTIONS")
    return {status: PROBLEM_RESPONSES[status] for status in statuses}
