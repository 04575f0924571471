"""RFC 9457 problem details for every error a Spotilike service returns.

Services raise a :class:`Problem` (or one of its subclasses) from any layer; the handlers
installed by :func:`install_problem_handlers` turn it, FastAPI's validation errors, plain
HTTP errors and anything unexpected into ``application/problem+json``. An unexpected
exception becomes a generic 500 that carries only the request id, so a client never sees a
stack trace, a SQL statement or a secret; the full error goes to the log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

__all__ = [
    "PROBLEM_CONTENT_TYPE",
    "Conflict",
    "Forbidden",
    "NotFound",
    "Problem",
    "TooManyRequests",
    "Unauthorized",
    "UnprocessableContent",
    "install_problem_handlers",
    "invalid_field",
    "problem_document",
    "problem_response",
]

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://spotilike.dev/problems/"

_log = structlog.get_logger(__name__)


class Problem(Exception):  # noqa: N818 - it is a problem document, not only an error
    """An error with a stable machine-readable ``type`` and a human-readable ``detail``.

    ``code`` is the last path segment of the problem type URI (``auth/invalid-token``), so
    clients can branch on it without parsing prose. ``extensions`` are extra members of the
    problem document; ``headers`` go on the response (``WWW-Authenticate``, ``Retry-After``).
    """

    status: int = HTTPStatus.INTERNAL_SERVER_ERROR
    code: str = "internal-error"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status: int | None = None,
        title: str | None = None,
        extensions: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.title = title or HTTPStatus(self.status).phrase
        self.extensions = dict(extensions or {})
        self.headers = dict(headers or {})


class Unauthorized(Problem):
    status = HTTPStatus.UNAUTHORIZED
    code = "unauthorized"

    def __init__(self, detail: str, *, code: str | None = None, **kwargs: Any) -> None:
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        headers.update(kwargs.pop("headers", None) or {})
        super().__init__(detail, code=code, headers=headers, **kwargs)


class Forbidden(Problem):
    status = HTTPStatus.FORBIDDEN
    code = "forbidden"


class NotFound(Problem):
    status = HTTPStatus.NOT_FOUND
    code = "not-found"


class Conflict(Problem):
    status = HTTPStatus.CONFLICT
    code = "conflict"


class UnprocessableContent(Problem):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "validation-failed"


def invalid_field(
    pointer: str, detail: str, *, code: str = "validation-failed", location: str = "body"
) -> UnprocessableContent:
    """A 422 naming one field, shaped like the request-validation errors: ``errors`` holds
    ``in`` (body, query, path), the JSON ``pointer`` into it and the ``detail``."""
    return UnprocessableContent(
        f"{pointer.lstrip('/') or location}: {detail}",
        code=code,
        extensions={"errors": [{"in": location, "pointer": pointer, "detail": detail}]},
    )


class TooManyRequests(Problem):
    status = HTTPStatus.TOO_MANY_REQUESTS
    code = "rate-limited"

    def __init__(self, detail: str, *, retry_after_seconds: int, **kwargs: Any) -> None:
        headers = {"Retry-After": str(max(1, retry_after_seconds))}
        headers.update(kwargs.pop("headers", None) or {})
        super().__init__(detail, headers=headers, **kwargs)


def _request_id(request: Request) -> str | None:
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


def problem_document(
    *, status: int, code: str, detail: str, title: str | None = None, instance: str | None = None
) -> dict[str, Any]:
    """The RFC 9457 members every problem answer has (``instance`` when one is known):
    for answers built outside a Starlette response, such as a server refusing a request
    before any app sees it."""
    document: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        document["instance"] = instance
    return document


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    detail: str,
    title: str | None = None,
    extensions: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = problem_document(
        status=status, code=code, detail=detail, title=title, instance=request.url.path
    )
    response_headers = dict(headers or {})
    request_id = _request_id(request)
    if request_id is not None:
        body["request_id"] = request_id
        # The outermost error handler answers outside the request-id middleware, so the
        # header is set here too; the middleware skips a header that is already there.
        response_headers.setdefault("X-Request-ID", request_id)
    body.update(extensions or {})
    return JSONResponse(
        body, status_code=status, headers=response_headers, media_type=PROBLEM_CONTENT_TYPE
    )


def _json_pointer(location: Sequence[str | int]) -> str:
    """Turns FastAPI's error location (``("body", "user", 0, "name")``) into a JSON pointer.

    The first element says where the value came from (body, query, path, header, cookie);
    the pointer addresses the value inside it, escaped per RFC 6901.
    """
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in location[1:]]
    return "/" + "/".join(parts) if parts else ""


async def _handle_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        detail=exc.detail,
        title=exc.title,
        extensions=exc.extensions,
        headers=exc.headers,
    )


async def _handle_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "in": str(error["loc"][0]) if error.get("loc") else "body",
            "pointer": _json_pointer(error.get("loc", ())),
            "detail": error.get("msg", "invalid value"),
            "type": error.get("type", "value_error"),
        }
        for error in exc.errors()
    ]
    return problem_response(
        request,
        status=HTTPStatus.UNPROCESSABLE_ENTITY,
        code="validation-failed",
        detail=f"The request has {len(errors)} invalid value(s); see 'errors'.",
        extensions={"errors": errors},
    )


def _allowed_methods(request: Request) -> str:
    """Every method some route of this path takes: Starlette names only the first route's."""
    methods = {
        method
        for route in request.app.router.routes
        if isinstance(route, Route) and route.methods and route.path_regex.match(request.url.path)
        for method in route.methods
    }
    return ", ".join(sorted(methods))


async def _handle_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = HTTPStatus(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) else status.description
    code = status.phrase.lower().replace(" ", "-").replace("'", "")
    headers = dict(exc.headers or {})
    if status is HTTPStatus.METHOD_NOT_ALLOWED:
        headers["Allow"] = _allowed_methods(request)
    return problem_response(request, status=status, code=code, detail=detail, headers=headers)


async def _handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    _log.error("unhandled_exception", path=request.url.path, exc_info=exc)
    return problem_response(
        request,
        status=HTTPStatus.INTERNAL_SERVER_ERROR,
        code="internal-error",
        detail="The server failed to handle this request. Quote the request id when reporting it.",
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _handle_problem)
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    app.add_exception_handler(Exception, _handle_unexpected)
