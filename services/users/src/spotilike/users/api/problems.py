"""The error statuses the users API documents, in its own words (the kit says how)."""

from __future__ import annotations

from http import HTTPStatus

from spotilike.kit.openapi import PROBLEM_SCHEMA, ProblemResponses

__all__ = ["PROBLEM_SCHEMA", "problem_responses"]

problem_responses = ProblemResponses(
    {
        HTTPStatus.BAD_REQUEST: "The body is not the JSON its Content-Type says it is.",
        HTTPStatus.UNAUTHORIZED: "No access token, or one that is invalid, expired or revoked.",
        HTTPStatus.FORBIDDEN: "The caller may not do this (role, disabled account, risk check).",
        HTTPStatus.NOT_FOUND: "No such resource, or not one the caller may see.",
        HTTPStatus.CONFLICT: "The change conflicts with the current state (a taken email).",
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "The request body is over the service's cap.",
        HTTPStatus.UNPROCESSABLE_ENTITY: "A value is invalid; 'errors' names each one.",
        HTTPStatus.TOO_MANY_REQUESTS: "Rate limited or locked out; wait for Retry-After.",
        HTTPStatus.SERVICE_UNAVAILABLE: "A sign-in provider cannot be reached right now.",
    }
)
"""``responses=problem_responses(401, 404)`` on a router or route."""
