"""The error statuses the notification API documents, in its own words."""

from __future__ import annotations

from http import HTTPStatus

from spotilike.kit.openapi import ProblemResponses

__all__ = ["ADMIN_LIST", "ADMIN_RETRY", "UNSUBSCRIBE", "problem_responses"]

problem_responses = ProblemResponses(
    {
        HTTPStatus.BAD_REQUEST: "The unsubscribe token is not one this service signed.",
        HTTPStatus.UNAUTHORIZED: "No access token, or one that is invalid.",
        HTTPStatus.FORBIDDEN: "Only an ADMIN may look at or retry emails.",
        HTTPStatus.NOT_FOUND: "No email with this id.",
        HTTPStatus.CONFLICT: "The email is not dead: only dead emails are retried.",
        HTTPStatus.UNPROCESSABLE_ENTITY: "A value is invalid; 'errors' names each one.",
    }
)

ADMIN_LIST = problem_responses(401, 403, 422)
ADMIN_RETRY = problem_responses(401, 403, 404, 409, 422)
UNSUBSCRIBE = problem_responses(400, 422)
