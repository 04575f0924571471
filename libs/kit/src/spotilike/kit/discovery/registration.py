"""A service instance registering itself with the Eureka-compatible registry.

The loop is Eureka's client protocol: ``POST /eureka/apps/{APP}`` until it succeeds (with
exponential backoff and jitter while the registry is down, so a restarted registry is not
stampeded), then ``PUT /eureka/apps/{APP}/{id}`` every ``renew_seconds``; a 404 there
means the registry lost or evicted the lease, and the answer is to register again. At stop
the lease is cancelled with ``DELETE`` so callers stop routing to the instance at once
instead of after the lease runs out.

It runs in a task of its own and never blocks the service's start: a registry that is down
delays discoverability, not the service. Plain aiohttp rather than the kit's
``ServiceClient``: this loop is its own retry policy, and a circuit breaker in front of it
would only delay the re-registration that a 404 asks for.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
import structlog

from spotilike.kit.discovery.instances import InstanceStatus, discovery_base_url, redacted
from spotilike.kit.settings import ServiceSettings

__all__ = ["InstanceRegistration", "ServiceRegistration"]

_log = structlog.get_logger(__name__)

_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - recognising, not binding
_DEFAULT_DATA_CENTER = "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"


@dataclass(frozen=True)
class InstanceRegistration:
    """What an instance tells the registry about itself."""

    app: str
    host: str
    port: int
    instance_id: str = ""
    """Defaults to ``host:app:port``, Spring Cloud's convention, stable across restarts."""
    lease_seconds: int = 90
    renew_seconds: float = 30.0
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def effective_id(self) -> str:
        return self.instance_id or f"{self.host}:{self.app.lower()}:{self.port}"

    def instance_info(self, *, status: InstanceStatus, dirty_timestamp: int) -> dict[str, Any]:
        """The ``{"instance": ...}`` body of a register call, as Eureka's own clients send it."""
        base = f"http://{self.host}:{self.port}"
        return {
            "instance": {
                "instanceId": self.effective_id,
                "app": self.app.upper(),
                "hostName": self.host,
                "ipAddr": self.host,
                "vipAddress": self.app.lower(),
                "secureVipAddress": self.app.lower(),
                "status": status.value,
                "port": {"$": self.port, "@enabled": "true"},
                "securePort": {"$": 443, "@enabled": "false"},
                "homePageUrl": f"{base}/",
                "statusPageUrl": f"{base}/health/live",
                "healthCheckUrl": f"{base}/health/ready",
                "dataCenterInfo": {"@class": _DEFAULT_DATA_CENTER, "name": "MyOwn"},
                "leaseInfo": {
                    "renewalIntervalInSecs": max(1, round(self.renew_seconds)),
                    "durationInSecs": self.lease_seconds,
                },
                "metadata": dict(self.metadata),
                "lastDirtyTimestamp": str(dirty_timestamp),
            }
        }


class ServiceRegistration:
    """Registers, renews and cancels one instance; ``start()`` then ``stop()``."""

    def __init__(
        self,
        discovery_url: str,
        instance: InstanceRegistration,
        *,
        timeout_seconds: float = 3.0,
        max_backoff_seconds: float = 30.0,
    ) -> None:
        if instance.renew_seconds <= 0 or instance.lease_seconds <= instance.renew_seconds:
            raise ValueError("the lease must be longer than the renewal interval, both positive")
        self.instance = instance
        self._app_url = (
            f"{discovery_base_url(discovery_url)}/apps/{quote(instance.app.upper(), safe='')}"
        )
        self._instance_url = f"{self._app_url}/{quote(instance.effective_id, safe='')}"
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._max_backoff = max_backoff_seconds
        self._dirty_timestamp = int(time.time() * 1000)
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self.registered = False
        """True while the registry holds a lease this instance renewed or created."""
        self.registrations = 0
        """Successful register calls, the first one and every one after a lost lease."""
        self.renewals = 0

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> ServiceRegistration:
        if settings.discovery_url is None:
            raise ValueError("discovery_url is not set: registration is off")
        host = settings.discovery_instance_host or settings.host
        if host in _WILDCARD_HOSTS:
            host = "127.0.0.1"
        instance = InstanceRegistration(
            app=settings.discovery_app_name or settings.service_name,
            host=host,
            port=settings.discovery_instance_port or settings.port,
            instance_id=settings.discovery_instance_id or "",
            lease_seconds=settings.discovery_lease_seconds,
            renew_seconds=settings.discovery_renew_seconds,
        )
        return cls(settings.discovery_url, instance)

    async def start(self) -> None:
        if self._task is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._task = asyncio.create_task(self._run(), name="discovery-registration")

    async def stop(self) -> None:
        """Stop renewing and cancel the lease (best effort: the lease expires anyway)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is None:
            return
        if self.registered:
            try:
                async with self._session.delete(self._instance_url) as response:
                    _log.info("discovery_cancelled", status=response.status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                _log.warning("discovery_cancel_failed", error=str(exc))
            self.registered = False
        await self._session.close()
        self._session = None

    async def register(self) -> bool:
        """One register call; True when the registry accepted it."""
        body = self.instance.instance_info(
            status=InstanceStatus.UP, dirty_timestamp=self._dirty_timestamp
        )
        status = await self._call("POST", self._app_url, json=body)
        if status in (200, 204):
            self.registered = True
            self.registrations += 1
            _log.info(
                "discovery_registered",
                app=self.instance.app,
                instance_id=self.instance.effective_id,
                registry=redacted(self._app_url),
            )
            return True
        return False

    async def renew(self) -> bool | None:
        """One heartbeat: True renewed, False lease unknown (register again), None failed."""
        params = {"status": InstanceStatus.UP.value, "lastDirtyTimestamp": self._dirty_timestamp}
        status = await self._call("PUT", self._instance_url, params=params)
        if status == 200:
            self.renewals += 1
            return True
        if status == 404:
            self.registered = False
            _log.warning("discovery_lease_lost", instance_id=self.instance.effective_id)
            return False
        return None

    async def _call(
        self, method: str, url: str, *, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> int | None:
        if self._session is None:
            raise RuntimeError("ServiceRegistration used before start()")
        try:
            async with self._session.request(method, url, json=json, params=params) as response:
                if response.status >= 300 and response.status != 404:
                    _log.warning(
                        "discovery_call_refused",
                        method=method,
                        status=response.status,
                        body=(await response.text())[:200],
                    )
                return response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            _log.warning("discovery_unreachable", method=method, error=str(exc))
            return None

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            if not self.registered:
                if not await self.register():
                    # Jitter, so many instances restarting together spread their retries.
                    await asyncio.sleep(random.uniform(backoff / 2, backoff))  # noqa: S311
                    backoff = min(backoff * 2, self._max_backoff)
                    continue
                backoff = 0.5
            await asyncio.sleep(self.instance.renew_seconds)
            await self.renew()
