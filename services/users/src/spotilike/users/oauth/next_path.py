"""Where the browser may go after sign-in: only a path on our own origin, no open redirect."""

from __future__ import annotations

import string
from urllib.parse import urlsplit

__all__ = ["safe_next_path"]

_NEXT_PATH_MAX_LENGTH = 2048
_NEXT_PATH_CHARACTERS = frozenset(string.ascii_letters + string.digits + string.punctuation)
"""Printable ASCII without space: browsers drop tabs and newlines from URLs, so
``/\\t/evil.example`` would become ``//evil.example``; anything else must be percent-encoded."""


def safe_next_path(value: str | None) -> str:
    """``value`` if it is a path on our own origin, else ``"/"``: no open redirect after login."""
    if not value or len(value) > _NEXT_PATH_MAX_LENGTH:
        return "/"
    if not value.startswith("/") or value.startswith("//"):
        return "/"
    # Browsers read a backslash as a slash: /\evil.example is scheme-relative to them.
    if not set(value) <= _NEXT_PATH_CHARACTERS or "\\" in value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value
