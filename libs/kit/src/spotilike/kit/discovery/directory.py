"""A background-refreshed view of the registry, for callers that pick an instance per request.

The gateway asks :meth:`InstanceDirectory.instances` on every request, so the answer comes
from memory: a task re-reads ``GET /eureka/apps`` every ``refresh_seconds`` and swaps the
whole view in one assignment. When the registry cannot be reached or answers nonsense, the
last good view stays: instances that were healthy a moment ago are a better guess than none,
and the gateway's passive ejection deals with the ones that really went away.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from types import TracebackType
from typing import Self

import aiohttp
import structlog

from spotilike.kit.discovery.instances import (
    InstanceStatus,
    ServiceInstance,
    discovery_base_url,
    parse_applications,
    redacted,
)

__all__ = ["InstanceDirectory"]

_log = structlog.get_logger(__name__)


class InstanceDirectory:
    """``async with InstanceDirectory(url) as directory: directory.instances("catalog")``.

    :meth:`start` tries one refresh before returning (never raising), so a gateway started
    next to a live registry routes from its first request; it then refreshes in the
    background until :meth:`aclose`.
    """

    def __init__(
        self,
        discovery_url: str,
        *,
        refresh_seconds: float = 5.0,
        timeout_seconds: float = 3.0,
    ) -> None:
        if refresh_seconds <= 0 or timeout_seconds <= 0:
            raise ValueError("refresh_seconds and timeout_seconds must be positive")
        self._apps_url = discovery_base_url(discovery_url) + "/apps"
        self._refresh_seconds = refresh_seconds
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._view: dict[str, list[ServiceInstance]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        self.last_refresh: float | None = None
        """``time.monotonic()`` of the last successful refresh; None before the first."""
        self.failed_refreshes = 0
        """Refreshes that failed since the last successful one."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        if self._task is not None:
            return
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        await self.refresh()
        self._task = asyncio.create_task(self._loop(), name="instance-directory")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def instances(self, app_name: str) -> list[ServiceInstance]:
        """The UP instances of ``app_name`` (any case), from the last good view."""
        return [
            instance
            for instance in self._view.get(app_name.upper(), [])
            if instance.status is InstanceStatus.UP
        ]

    def applications(self) -> dict[str, list[ServiceInstance]]:
        """Every known instance by upper-case app name, whatever its status."""
        return {app: list(instances) for app, instances in self._view.items()}

    async def refresh(self) -> bool:
        """Re-read the registry now; False (view kept) when that failed."""
        if self._session is None:
            raise RuntimeError("InstanceDirectory.refresh() before start()")
        try:
            async with self._session.get(
                self._apps_url, headers={"Accept": "application/json"}
            ) as response:
                response.raise_for_status()
                document = await response.json(content_type=None)
            view = parse_applications(document)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            # ValueError: a body that is not JSON, or JSON that is not an applications view.
            self.failed_refreshes += 1
            if not self._failing:
                _log.warning(
                    "discovery_refresh_failed", url=redacted(self._apps_url), error=str(exc)
                )
            self._failing = True
            return False
        self._view = view
        self.last_refresh = time.monotonic()
        self.failed_refreshes = 0
        if self._failing:
            _log.info("discovery_refresh_recovered", url=redacted(self._apps_url))
        self._failing = False
        return True

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_seconds)
            await self.refresh()
