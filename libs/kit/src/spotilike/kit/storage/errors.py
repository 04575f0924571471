"""What the object storage port raises, whichever adapter is behind it."""

from __future__ import annotations

__all__ = ["InvalidKey", "NotFoundInStorage", "RangeNotSatisfiable", "StorageError"]


class StorageError(Exception):
    """The storage could not do what was asked (an unexpected backend or IO failure)."""


class NotFoundInStorage(StorageError, LookupError):  # noqa: N818 - the name is the public API
    """No object under that key, or nothing published under that prefix."""

    def __init__(self, key: str) -> None:
        super().__init__(f"nothing stored under {key!r}")
        self.key = key


class RangeNotSatisfiable(StorageError):  # noqa: N818 - the name is the public API
    """The range starts at or past the end of the object (HTTP 416)."""

    def __init__(self, key: str, start: int, size: int) -> None:
        super().__init__(f"range starting at {start} is past the end of {key!r} ({size} bytes)")
        self.key = key
        self.start = start
        self.size = size


class InvalidKey(ValueError):  # noqa: N818 - the name is the public API
    """A key or prefix that could escape the storage root or means different things per backend."""
