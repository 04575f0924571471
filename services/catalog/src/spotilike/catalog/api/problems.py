"""The error statuses the catalog API documents, in its own words (the kit says how)."""

from __future__ import annotations

from http import HTTPStatus

from spotilike.kit.openapi import OPTIONAL_BEARER, PROBLEM_SCHEMA, ProblemResponses

__all__ = [
    "LISTING",
    "OPTIONAL_BEARER",
    "PAGE",
    "PROBLEM_SCHEMA",
    "PUBLIC_LISTING",
    "WRITE",
    "problem_responses",
]

problem_responses = ProblemResponses(
    {
        HTTPStatus.BAD_REQUEST: "The body could not be parsed as its Content-Type says.",
        HTTPStatus.UNAUTHORIZED: "No access token where one is needed, or one that is invalid.",
        HTTPStatus.FORBIDDEN: "Only an admin, or the artist's manager, may do this.",
        HTTPStatus.NOT_FOUND: "No such resource, or not one the caller may see.",
        HTTPStatus.CONFLICT: "A duplicate, or a step the track's state does not allow.",
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "The request body is over the service's cap.",
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE: "The body is in a format this route does not read.",
        HTTPStatus.UNPROCESSABLE_ENTITY: "A value is invalid; 'errors' names each one.",
    }
)

PUBLIC_LISTING = problem_responses(422)
"""A list or search for anyone, token or not: only a bad query parameter fails it."""
LISTING = problem_responses(401, 422)
"""A list that shows editors more: a bad query parameter, or an invalid token sent."""
PAGE = problem_responses(401, 404, 422)
"""One resource by id, which may not exist or not be visible to the caller."""
WRITE = problem_responses(400, 401, 403, 404, 409, 413, 422)
"""A change: authenticated, checked against the caller's rights and the catalog's rows."""
