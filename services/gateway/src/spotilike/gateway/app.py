"""The gateway's composition root."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from spotilike.gateway.balancing import (
    FallbackInstances,
    InstanceSource,
    LoadBalancer,
    StaticInstances,
)
from spotilike.gateway.clientip import ClientAddressResolver, NetworkSet
from spotilike.gateway.discovery import RegistryInstances
from spotilike.gateway.proxy import Admission, Gateway, GatewayEntry, Upstreams
from spotilike.gateway.routing import RouteTable
from spotilike.gateway.settings import GatewaySettings
from spotilike.gateway.static import WebPlayerFiles
from spotilike.kit.app import BackgroundWorker, ServiceResources, create_app
from spotilike.kit.auth import TokenVerifier, verifier_from_settings
from spotilike.kit.discovery import InstanceDirectory
from spotilike.kit.ratelimit import RateLimiter, RateLimitRule

__all__ = ["EXPOSED_HEADERS", "create_gateway_app"]

EXPOSED_HEADERS = ("RateLimit", "RateLimit-Policy", "Retry-After", "X-Request-ID")
"""Response headers a browser script may read on a cross-origin answer."""


class _DirectoryWorker:
    """Runs the registry view for the app's lifetime (the kit's lifespan runs workers)."""

    def __init__(self, directory: InstanceDirectory) -> None:
        self._directory = directory
        self._stopped = asyncio.Event()

    async def run(self) -> None:
        await self._directory.start()
        try:
            await self._stopped.wait()
        finally:
            await self._directory.aclose()

    def stop(self) -> None:
        self._stopped.set()


def create_gateway_app(
    settings: GatewaySettings | None = None,
    *,
    token_verifier: TokenVerifier | None = None,
    instances: InstanceSource | None = None,
) -> GatewayEntry:
    """``instances`` replaces where upstream instances come from (tests); by default the
    registry when ``discovery_url`` is set, with the static URLs as its fallback."""
    settings = settings or GatewaySettings()
    source: InstanceSource = instances or StaticInstances(settings.upstreams)
    workers: list[BackgroundWorker] = []
    if instances is None and settings.discovery_url is not None:
        directory = InstanceDirectory(
            settings.discovery_url, refresh_seconds=settings.discovery_refresh_seconds
        )
        # Until its first refresh (a moment after start) the static URLs answer.
        source = FallbackInstances(RegistryInstances(directory), source)
        workers.append(_DirectoryWorker(directory))

    def background(_resources: ServiceResources) -> Sequence[BackgroundWorker]:
        return workers

    app = create_app(
        settings,
        title="Spotilike gateway",
        use_database=False,
        use_redis=True,
        workers=background,
        max_body_bytes=settings.max_body_bytes,
    )
    balancer = LoadBalancer(
        source,
        strategy=settings.load_balancing,
        eject_after=settings.eject_after_failures,
        eject_seconds=settings.eject_seconds,
    )
    upstreams = Upstreams(settings, balancer)
    limiter = RateLimiter(
        settings.redis_url,
        namespace=settings.rate_limit_namespace,
        max_connections=settings.redis_pool_size,
    )
    resolver = ClientAddressResolver(settings.trusted_proxies)
    metrics_networks = NetworkSet(settings.metrics_networks, what="metrics network")
    admission = Admission(
        routes=RouteTable.from_configs(settings.routes),
        resolver=resolver,
        verifier=token_verifier or verifier_from_settings(settings, app.state.redis),
        limiter=limiter,
        rules={
            name: RateLimitRule.parse(name, text) for name, text in settings.rate_limits.items()
        },
        fail_closed=settings.fail_closed_rate_limits,
        max_header_bytes=settings.max_header_bytes,
        max_body_bytes=settings.max_body_bytes,
    )
    static_dir = settings.static_dir
    static = WebPlayerFiles(static_dir) if static_dir is not None and static_dir.is_dir() else None
    gateway = Gateway(
        admission=admission, upstreams=upstreams, static=static, service=settings.service_name
    )
    app.state.gateway = gateway
    app.state.shutdown_hooks.extend([upstreams.aclose, limiter.aclose])
    proxy: ASGIApp = gateway
    if settings.cors_origins:
        proxy = CORSMiddleware(
            gateway,
            allow_origins=list(settings.cors_origins),
            allow_credentials=settings.cors_allow_credentials,
            allow_methods=list(settings.cors_allow_methods),
            allow_headers=list(settings.cors_allow_headers),
            expose_headers=list(EXPOSED_HEADERS),
            max_age=settings.cors_max_age_seconds,
        )

    def metrics_reader(peer: str) -> bool:
        return peer in metrics_networks and not resolver.is_trusted(peer)

    return GatewayEntry(app, proxy, gateway, metrics_reader=metrics_reader)
