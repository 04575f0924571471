"""The one error the stack raises: something could not start, stop or be reached."""

from __future__ import annotations

__all__ = ["StackError"]


class StackError(RuntimeError):
    """A component failed; the message says which, why when known, and where its log is."""

    def __init__(self, component: str, message: str) -> None:
        super().__init__(f"{component}: {message}")
        self.component = component
