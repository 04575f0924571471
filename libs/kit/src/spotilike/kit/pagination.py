"""Keyset (cursor) pagination: stable pages however far a client scrolls.

A cursor is the sort key of the last row a page showed, plus its id as the tie-breaker,
as URL-safe base64 JSON. It is opaque to clients but not secret: it carries nothing a
client could not see on the page, so it is not signed; a forged one only moves the page.
Offsets would make page N cost N pages and skip or repeat rows under concurrent writes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from spotilike.kit.errors import UnprocessableContent, invalid_field

__all__ = ["MAX_CURSOR_LENGTH", "clamp_page_size", "decode_cursor", "encode_cursor"]

MAX_CURSOR_LENGTH = 1024
Scalar = str | int | float | bool | None


def encode_cursor(values: Sequence[Scalar]) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, *, arity: int, parameter: str = "cursor") -> list[Any]:
    """The values ``encode_cursor`` was given; a 422 on the query parameter otherwise."""

    def refused() -> UnprocessableContent:
        return invalid_field(
            "/" + parameter,
            "not a cursor this endpoint issued; start again without it",
            location="query",
        )

    if len(cursor) > MAX_CURSOR_LENGTH:
        raise refused()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError):
        raise refused() from None
    if not isinstance(values, list) or len(values) != arity:
        raise refused()
    if not all(value is None or isinstance(value, str | int | float | bool) for value in values):
        raise refused()
    return values


def clamp_page_size(requested: int | None, *, default: int, maximum: int) -> int:
    """What a page holds: the default when unasked, never more than ``maximum``."""
    if requested is None:
        return default
    return max(1, min(requested, maximum))
