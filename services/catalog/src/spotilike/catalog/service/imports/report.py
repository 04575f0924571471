"""The report an import answers with: how many rows it read, what it created, and which
rows failed and why."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["ImportCounts", "ImportReport", "RowError"]


class RowError(BaseModel):
    row: int
    """1-based among the data rows: a CSV header does not count, a skipped blank row does."""
    pointer: str | None
    """The JSON pointer of the row's field at fault ("/isrc"), null for the row as a whole."""
    code: str
    detail: str
    existing: dict[str, Any] | None = None
    """What a duplicate collides with: its kind, id and title."""


class ImportCounts(BaseModel):
    artists: int
    albums: int
    tracks: int


class ImportReport(BaseModel):
    rows: int
    """The rows read, blank CSV rows left out."""
    created: ImportCounts
    errors: list[RowError]
