"""Bulk import: a JSON or CSV body of tracks in, a per-row report out."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Request

from spotilike.catalog.api.deps import Caller, RuntimeDep
from spotilike.catalog.api.problems import PROBLEM_SCHEMA, problem_responses
from spotilike.catalog.service import imports
from spotilike.kit.auth import CurrentPrincipal
from spotilike.kit.errors import PROBLEM_CONTENT_TYPE, Problem

__all__ = ["router"]

router = APIRouter(prefix="/catalog", tags=["import"])

_FORMATS: dict[str, imports.ImportFormat] = {"application/json": "json", "text/csv": "csv"}
_ACCEPTED = ", ".join(_FORMATS)

_ROWS: dict[str, Any] = {
    "type": "array",
    # Any item: the import judges each row on its own and reports the bad ones, rather
    # than refusing the request, so the schema promises no more than that.
    "items": {"description": "One track: an object with the import's columns as keys."},
}
_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": (
        "One track per row. Columns (CSV header, or keys of each JSON object): "
        f"{', '.join(imports.COLUMNS)}; required: {', '.join(imports.REQUIRED_COLUMNS)}. "
        "CSV column names are case-insensitive and in any order; in CSV, genres and "
        f"featured hold several values separated by '{imports.LIST_SEPARATOR}', in JSON "
        "they are arrays."
    ),
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    _ROWS,
                    {
                        "type": "object",
                        "properties": {"rows": _ROWS},
                        "required": ["rows"],
                        "additionalProperties": False,
                    },
                ]
            }
        },
        "text/csv": {
            "schema": {
                "type": "string",
                # The simplest CSV the import takes: the required columns, unquoted cells.
                # Quoted cells and the other columns are accepted too (see above).
                "pattern": '^artist,album,title,track_number(\\r?\\n[^"\\r\\n\\x00]*)*$',
            }
        },
    },
}


_RESPONSES = problem_responses(400, 401, 403, 413, 422) | {
    int(HTTPStatus.UNSUPPORTED_MEDIA_TYPE): {
        "description": "Neither JSON nor CSV, or not in UTF-8.",
        "content": {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_SCHEMA}},
    }
}


def _format(content_type: str | None) -> imports.ImportFormat:
    media_type, _, parameters = (content_type or "").partition(";")
    kind = _FORMATS.get(media_type.strip().lower())
    charset = next(
        (
            value.strip().strip('"').lower()
            for name, _, value in (p.partition("=") for p in parameters.split(";"))
            if name.strip().lower() == "charset"
        ),
        "utf-8",
    )
    if kind is None or charset not in {"utf-8", "utf8"}:
        raise Problem(
            f"send the import as {_ACCEPTED}, in UTF-8; not {content_type or 'no content type'}",
            status=HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            code="unsupported-media-type",
            extensions={"accepted": list(_FORMATS)},
            headers={"Accept-Post": _ACCEPTED},
        )
    return kind


@router.post(
    "/import",
    summary="Import artists, albums and tracks from JSON or CSV (ADMIN or ARTIST)",
    openapi_extra={"requestBody": _REQUEST_BODY},
    responses=_RESPONSES,
)
async def import_catalog(
    request: Request, principal: CurrentPrincipal, runtime: RuntimeDep, caller: Caller
) -> imports.ImportReport:
    """Each row is imported on its own; the report lists the rows that failed and why.

    The answer is 200 whenever the import ran, even if rows failed: the request itself
    succeeded, and the report is the per-row outcome. 207 Multi-Status was left out, as
    it is WebDAV's and promises a multistatus XML body.
    """
    imports.require_importer(principal)
    kind = _format(request.headers.get("content-type"))
    body = await request.body()
    return await imports.import_catalog(
        runtime, principal=principal, body=body, kind=kind, caller=caller
    )
