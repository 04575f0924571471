"""One event-loop timer for a deadline that every request on a connection sets anew."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["MovingTimer"]


class MovingTimer:
    """Calls ``expired`` once the deadline ``due()`` names has passed (``due()`` None:
    nothing is waiting).

    Arming and cancelling a loop timer for every request cost more than the rest of its
    wait, so a connection keeps one: when it fires before the current deadline, it is
    armed again for that deadline, which may have moved on since.
    """

    __slots__ = ("_due", "_expired", "_loop", "_timer")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        due: Callable[[], float | None],
        expired: Callable[[], None],
    ) -> None:
        self._loop = loop
        self._due = due
        self._expired = expired
        self._timer: asyncio.TimerHandle | None = None

    def arm(self, at: float) -> None:
        """The deadline is now ``at`` (in loop time): fire no later than that."""
        timer = self._timer
        if timer is None or timer.when() > at:
            if timer is not None:
                timer.cancel()
            self._timer = self._loop.call_at(at, self._fire)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fire(self) -> None:
        self._timer = None
        at = self._due()
        if at is None:
            return
        if at > self._loop.time():
            self._timer = self._loop.call_at(at, self._fire)
            return
        self._expired()
