"""The timer that notices expired leases when nobody reads the registry."""

from __future__ import annotations

import asyncio

import structlog

from spotilike.discovery.service.registry import Registry

__all__ = ["Evictor"]

_log = structlog.get_logger(__name__)


class Evictor:
    """A kit ``BackgroundWorker``. Expiry itself is Valkey's key TTL; this only records the
    deletions into the delta promptly (see :mod:`spotilike.discovery.repository`), so it
    needs no lock: every registry instance may run one."""

    def __init__(self, registry: Registry, *, interval_seconds: float) -> None:
        self._registry = registry
        self._interval = interval_seconds
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._registry.evict_expired()
            except Exception as exc:  # Valkey down or slow: keep trying, and say so
                _log.warning("eviction_failed", error=str(exc))
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=self._interval)
            except TimeoutError:
                continue

    def stop(self) -> None:
        self._stopping.set()
