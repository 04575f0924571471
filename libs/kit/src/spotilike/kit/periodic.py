"""A background worker that runs one step on a timer: eviction, sweeps, reconciliations."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

__all__ = ["PeriodicWorker"]

_log = structlog.get_logger(__name__)


class PeriodicWorker:
    """A kit ``BackgroundWorker`` that awaits ``step`` every ``interval_seconds``.

    A step that raises is logged as ``periodic_step_failed`` with the worker's name and
    tried again at the next tick, so a dependency that is down for a while (Valkey,
    PostgreSQL) delays the work instead of ending it. ``stop`` ends the wait at once;
    a step already running finishes first.
    """

    def __init__(
        self, name: str, step: Callable[[], Awaitable[object]], *, interval_seconds: float
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        self.name = name
        self._step = step
        self._interval = interval_seconds
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._step()
            except Exception as exc:
                _log.warning("periodic_step_failed", worker=self.name, error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._interval)

    def stop(self) -> None:
        self._stopping.set()
