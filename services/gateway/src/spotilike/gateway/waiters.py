"""Resolving the futures a protocol callback wakes a waiting coroutine with."""

from __future__ import annotations

import asyncio

__all__ = ["fail", "wake"]


def wake(waiter: asyncio.Future[None] | None) -> None:
    """Lets the coroutine waiting on ``waiter`` go on, if one still waits: the future may
    be unset (nobody waits) or done already (a timeout or an earlier wake got there first)."""
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


def fail(waiter: asyncio.Future[None] | None, error: BaseException) -> None:
    """Raises ``error`` in the coroutine waiting on ``waiter``, if one still waits."""
    if waiter is not None and not waiter.done():
        waiter.set_exception(error)
