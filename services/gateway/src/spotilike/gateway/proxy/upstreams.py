"""The gateway's side of each upstream service: its breaker and retry budget, the
connection pool HTTP requests share and the aiohttp session WebSockets use."""

from __future__ import annotations

import aiohttp

from spotilike.gateway.balancing import LoadBalancer
from spotilike.gateway.budget import RetryBudget
from spotilike.gateway.proxy.connections import UpstreamPool
from spotilike.gateway.settings import GatewaySettings
from spotilike.kit.http import CircuitBreaker

__all__ = ["Upstreams"]


class Upstreams:
    def __init__(self, settings: GatewaySettings, balancer: LoadBalancer) -> None:
        self.settings = settings
        self.balancer = balancer
        self._breakers: dict[str, CircuitBreaker] = {}
        self._budgets: dict[str, RetryBudget] = {}
        self._session: aiohttp.ClientSession | None = None
        self.pool = UpstreamPool(
            connect_timeout_seconds=settings.connect_timeout_seconds,
            max_connections=settings.upstream_connection_limit,
            max_per_origin=settings.upstream_connections_per_instance,
            idle_seconds=settings.upstream_idle_seconds,
        )

    def breaker(self, service: str) -> CircuitBreaker:
        breaker = self._breakers.get(service)
        if breaker is None:
            s = self.settings
            breaker = self._breakers[service] = CircuitBreaker(
                service,
                failure_rate_threshold=s.breaker_failure_rate,
                window_size=s.breaker_window_size,
                window_seconds=s.breaker_window_seconds,
                minimum_calls=s.breaker_minimum_calls,
                open_seconds=s.breaker_open_seconds,
                half_open_max_calls=s.breaker_half_open_calls,
            )
        return breaker

    def budget(self, service: str) -> RetryBudget:
        budget = self._budgets.get(service)
        if budget is None:
            s = self.settings
            budget = self._budgets[service] = RetryBudget(
                ratio=s.retry_budget_ratio,
                minimum=s.retry_budget_min,
                window_seconds=s.retry_budget_window_seconds,
            )
        return budget

    def session(self) -> aiohttp.ClientSession:
        """For WebSockets; created on first use, inside the server's event loop."""
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self.settings.upstream_connection_limit,
                limit_per_host=0,
                keepalive_timeout=30.0,
                ttl_dns_cache=10,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                # Bodies pass through as the upstream encoded them.
                auto_decompress=False,
                # A shared jar would hand one user's cookies to the next request.
                cookie_jar=aiohttp.DummyCookieJar(),
                # Only the client's own headers go upstream.
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept"),
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=self.settings.connect_timeout_seconds
                ),
            )
        return self._session

    async def aclose(self) -> None:
        await self.pool.aclose()
        if self._session is not None:
            await self._session.close()
            self._session = None
