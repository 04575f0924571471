"""Reading an import's body, JSON or CSV, into numbered rows, and the shape a row must have."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from http import HTTPStatus
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from spotilike.catalog.models import AlbumType
from spotilike.catalog.schemas import Code, DiscNumber, Name, TrackNumber, Url
from spotilike.kit.errors import Problem, UnprocessableContent

__all__ = [
    "COLUMNS",
    "LIST_SEPARATOR",
    "REQUIRED_COLUMNS",
    "ImportFormat",
    "ImportRow",
    "RawRow",
    "parse_rows",
]

ImportFormat = Literal["json", "csv"]
GenreSlug = Annotated[str, Field(min_length=1, max_length=64)]
LIST_SEPARATOR = ";"
"""Separates genre slugs and featured artists inside one CSV cell."""


class ImportRow(BaseModel):
    """One track, and the album and artist it belongs to."""

    model_config = ConfigDict(extra="forbid")

    artist: Name
    album: Name
    album_type: AlbumType = AlbumType.ALBUM
    release_date: date | None = None
    upc: Code | None = None
    label: Name | None = None
    cover_url: Url | None = None
    genres: Annotated[list[GenreSlug], Field(max_length=10)] = []
    """Genre slugs ("art-pop"), applied to the album."""
    title: Name
    track_number: TrackNumber
    disc_number: DiscNumber = 1
    isrc: Code | None = None
    explicit: bool = False
    featured: Annotated[list[Name], Field(max_length=20)] = []
    """Names of the artists featured on the track."""


COLUMNS: tuple[str, ...] = tuple(ImportRow.model_fields)
REQUIRED_COLUMNS: tuple[str, ...] = tuple(
    name for name, info in ImportRow.model_fields.items() if info.is_required()
)
_LIST_COLUMNS = frozenset({"genres", "featured"})


@dataclass(frozen=True)
class RawRow:
    """A data row as read from the body, before validation."""

    number: int
    values: object
    problem: str | None = None
    """Why the row cannot be read at all (a CSV row longer than its header)."""


def _unreadable(detail: str) -> Problem:
    return Problem(detail, status=HTTPStatus.BAD_REQUEST, code="catalog/import-unreadable")


def parse_rows(body: bytes, *, kind: ImportFormat, max_rows: int) -> list[RawRow]:
    """The body's data rows: 400 if it cannot be read, 422 if it is not shaped like an
    import, 413 if it holds more than ``max_rows`` rows."""
    rows = _csv_rows(body) if kind == "csv" else _json_rows(body)
    if len(rows) > max_rows:
        raise Problem(
            f"the import has {len(rows)} rows and at most {max_rows} are taken at once; "
            "split it into several imports",
            status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            code="catalog/import-too-many-rows",
            extensions={"rows": len(rows), "max_rows": max_rows},
        )
    return rows


def _json_rows(body: bytes) -> list[RawRow]:
    try:
        document = json.loads(body)
    except RecursionError:
        raise _unreadable("the JSON is nested too deeply") from None
    except ValueError as error:
        raise _unreadable(f"the body is not JSON: {error}") from None
    if isinstance(document, dict) and set(document) == {"rows"}:
        document = document["rows"]
    if not isinstance(document, list):
        raise UnprocessableContent(
            'the body must be a JSON array of rows, or an object {"rows": [...]}',
            code="catalog/import-shape",
        )
    return [RawRow(number, values) for number, values in enumerate(document, start=1)]


def _csv_rows(body: bytes) -> list[RawRow]:
    """Rows of a CSV whose first line names the columns (in any case).

    Rows with no value at all, as spreadsheets leave at the end, are skipped but keep their
    place in the numbering, so row N is still the file's Nth row after the header.
    """
    try:
        content = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _unreadable(f"the CSV is not UTF-8: byte {error.start} is not valid") from None
    reader = csv.reader(io.StringIO(content, newline=""), strict=True)
    rows: list[RawRow] = []
    try:
        columns = _columns(next(reader, None))
        for number, record in enumerate(reader, start=1):
            if any(value.strip() for value in record):
                rows.append(_csv_row(number, columns, record))
    except csv.Error as error:
        raise _unreadable(f"the CSV is malformed at line {reader.line_num}: {error}") from None
    return rows


def _columns(header: list[str] | None) -> list[str]:
    if header is None or not any(name.strip() for name in header):
        raise UnprocessableContent(
            "the CSV needs a header row naming its columns, from: " + ", ".join(COLUMNS),
            code="catalog/import-columns",
            extensions={"columns": list(COLUMNS), "required_columns": list(REQUIRED_COLUMNS)},
        )
    names = [name.strip().lower() for name in header]
    unknown = [name for name in names if name not in COLUMNS]
    repeated = sorted({name for name in names if names.count(name) > 1})
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if unknown or repeated or missing:
        found = [
            f"{what} columns: {', '.join(map(repr, which))}"
            for what, which in (("unknown", unknown), ("repeated", repeated), ("missing", missing))
            if which
        ]
        raise UnprocessableContent(
            f"{'; '.join(found)} (the columns are {', '.join(COLUMNS)}; "
            f"{', '.join(REQUIRED_COLUMNS)} are required)",
            code="catalog/import-columns",
            extensions={
                "unknown_columns": unknown,
                "repeated_columns": repeated,
                "missing_columns": missing,
                "columns": list(COLUMNS),
                "required_columns": list(REQUIRED_COLUMNS),
            },
        )
    return names


def _csv_row(number: int, columns: list[str], record: list[str]) -> RawRow:
    if len(record) > len(columns):
        return RawRow(
            number,
            None,
            problem=f"the row has {len(record)} values and the header {len(columns)} columns",
        )
    values: dict[str, object] = {}
    # Spreadsheets drop trailing empty cells, so a short row only leaves those fields out.
    for column, cell in zip(columns, record, strict=False):
        value = cell.strip()
        if not value:
            continue
        if column in _LIST_COLUMNS:
            values[column] = [p.strip() for p in value.split(LIST_SEPARATOR) if p.strip()]
        else:
            values[column] = value
    return RawRow(number, values)
