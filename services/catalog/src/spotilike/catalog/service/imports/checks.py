"""Judging one row before anything is created: its validation and the rules that need no
database, and a use case's refusal turned into issues that point into the row."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from pydantic import ValidationError

from spotilike.catalog import text
from spotilike.catalog.service.imports.rows import ImportRow, RawRow
from spotilike.catalog.service.validation import (
    checked_isrc,
    checked_name,
    checked_release_date,
    checked_upc,
)
from spotilike.kit.errors import Forbidden, Problem, UnprocessableContent

__all__ = ["Checked", "Issue", "RowRejected", "checked", "issues_of", "validated"]

T = TypeVar("T")


@dataclass(frozen=True)
class Issue:
    pointer: str | None
    code: str
    detail: str
    existing: dict[str, Any] | None = None


class RowRejected(Exception):  # noqa: N818 - control flow inside one row, never raised out
    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(f"{len(issues)} issue(s)")
        self.issues = issues


def _pointer(location: tuple[int | str, ...]) -> str | None:
    if not location:
        return None
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in location)


def _renamed(pointer: str, renames: Mapping[str, str]) -> str:
    """A use case's pointer into its request, as a pointer into the import row."""
    for old, new in renames.items():
        if pointer == old or pointer.startswith(old + "/"):
            return new + pointer[len(old) :]
    return pointer


def issues_of(
    problem: Problem, *, renames: Mapping[str, str] | None = None, pointer: str | None = None
) -> list[Issue]:
    """A use case's problem as row issues; ``pointer`` is where a refusal points."""
    entries = problem.extensions.get("errors")
    if isinstance(problem, UnprocessableContent) and isinstance(entries, list) and entries:
        return [
            Issue(
                _renamed(str(entry.get("pointer", "")), renames or {}) or None,
                problem.code,
                str(entry.get("detail", problem.detail)),
            )
            for entry in entries
        ]
    existing = problem.extensions.get("existing")
    return [
        Issue(
            pointer if isinstance(problem, Forbidden) else None,
            problem.code,
            problem.detail,
            existing if isinstance(existing, dict) else None,
        )
    ]


def _attempt(issues: list[Issue], check: Callable[[], T]) -> T | None:
    try:
        return check()
    except UnprocessableContent as problem:
        issues.extend(issues_of(problem))
        return None


@dataclass(frozen=True)
class Checked:
    """A row whose values passed the checks that need no database."""

    row: ImportRow
    artist_key: str
    album_key: str
    slugs: list[str]
    featured: list[tuple[str, str]]
    """Names of the featured artists and their search keys, in the row's order."""


def validated(raw: RawRow) -> ImportRow:
    if raw.problem is not None:
        raise RowRejected([Issue(None, "validation-failed", raw.problem)])
    try:
        return ImportRow.model_validate(raw.values)
    except ValidationError as error:
        raise RowRejected(
            [
                Issue(_pointer(entry["loc"]), "validation-failed", entry["msg"])
                for entry in error.errors(include_url=False)
            ]
        ) from None


def checked(row: ImportRow) -> Checked:
    """The rules that need no database, applied before anything is created."""
    issues: list[Issue] = []
    artist = _attempt(issues, partial(checked_name, row.artist, field="artist"))
    album = _attempt(issues, partial(checked_name, row.album, field="album"))
    _attempt(issues, partial(checked_name, row.title, field="title"))
    if row.label is not None:
        _attempt(issues, partial(checked_name, row.label, field="label"))
    _attempt(issues, partial(checked_isrc, row.isrc))
    _attempt(issues, partial(checked_upc, row.upc))
    _attempt(issues, partial(checked_release_date, row.release_date))
    slugs: list[str] = []
    for index, given in enumerate(row.genres):
        try:
            slugs.append(text.slugify(given))
        except text.TextRejected as error:
            issues.append(Issue(f"/genres/{index}", "validation-failed", error.message))
    artist_key = text.search_key(artist) if artist is not None else ""
    featured: list[tuple[str, str]] = []
    for index, given in enumerate(row.featured):
        name = _attempt(issues, partial(checked_name, given, field=f"featured/{index}"))
        if name is None:
            continue
        key = text.search_key(name)
        if key == artist_key:
            issues.append(
                Issue(
                    f"/featured/{index}",
                    "validation-failed",
                    "the row's artist cannot also feature",
                )
            )
        elif key in {k for _, k in featured}:
            issues.append(Issue(f"/featured/{index}", "validation-failed", "named twice"))
        featured.append((name, key))
    if issues or artist is None or album is None:
        raise RowRejected(issues)
    return Checked(
        row=row,
        artist_key=artist_key,
        album_key=text.duplicate_key(album),
        slugs=slugs,
        featured=featured,
    )
