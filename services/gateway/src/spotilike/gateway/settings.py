"""Settings of the gateway (environment prefix ``SPOTILIKE_GATEWAY_``).

The routing table, the static upstream URLs and the rate-limit classes are structured
values; pydantic-settings reads them from the environment as JSON, for example
``SPOTILIKE_GATEWAY_UPSTREAMS='{"catalog": ["http://10.0.0.5:8102"]}'``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import SettingsConfigDict

from spotilike.kit.settings import ServiceSettings

__all__ = ["DEFAULT_ROUTES", "DEFAULT_UPSTREAMS", "GatewaySettings", "RouteConfig"]


class RouteConfig(BaseModel):
    """One row of the routing table: requests whose path starts with ``prefix`` (on a
    segment boundary) go to ``service``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prefix: str = Field(pattern=r"^/[^?#]*$")
    service: str = Field(pattern=r"^[a-z][a-z0-9-]{0,63}$")
    timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    """Time allowed for the upstream's response headers, counted from the last request
    byte sent; the response body is then bounded by the idle timeout instead."""
    auth: Literal["public", "required"] = "required"
    public_methods: frozenset[str] = frozenset()
    """Methods that need no token even when ``auth`` is required (public catalog reads)."""
    rate_limit: str | None = "default"
    """A key of ``rate_limits``, or None for no per-IP limit on this route."""
    strip_prefix: bool = False
    """Send ``/audio/uploads`` as ``/uploads``: for a service whose own paths carry no prefix."""


def _route(prefix: str, service: str, **options: object) -> RouteConfig:
    return RouteConfig.model_validate({"prefix": prefix, "service": service, **options})


_READS = frozenset({"GET", "HEAD"})

DEFAULT_ROUTES: tuple[RouteConfig, ...] = (
    _route("/auth", "users", auth="public", rate_limit="auth"),
    _route("/.well-known/jwks.json", "users", auth="public"),
    _route("/users", "users"),
    _route("/admin", "users"),
    _route("/catalog", "catalog", public_methods=_READS),
    _route("/audio", "audio", strip_prefix=True, timeout_seconds=120.0),
    # Segment and download URLs carry the streaming service's own signed playback tokens.
    _route("/stream", "streaming", auth="public"),
    _route("/notifications", "notifications"),
    _route("/playlists", "playlists"),
    _route("/search", "search", public_methods=_READS),
    _route("/social", "social"),
    _route("/ws/social", "social", timeout_seconds=10.0),
)

DEFAULT_UPSTREAMS: dict[str, tuple[str, ...]] = {
    "users": ("http://127.0.0.1:8101",),
    "catalog": ("http://127.0.0.1:8102",),
    "audio": ("http://127.0.0.1:8103",),
    "streaming": ("http://127.0.0.1:8104",),
    "notifications": ("http://127.0.0.1:8105",),
    "playlists": ("http://127.0.0.1:8106",),
    "search": ("http://127.0.0.1:8107",),
    "social": ("http://127.0.0.1:8108",),
}


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SPOTILIKE_GATEWAY_", extra="ignore", frozen=True)

    service_name: str = "gateway"
    port: int = Field(default=8080, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    """Server processes, each with its own listening socket (``server/workers.py``): set
    it to the cores the gateway may use. Rate limits stay exact across them (Valkey);
    each process keeps its own breakers, balancer state and connection pool."""

    routes: tuple[RouteConfig, ...] = DEFAULT_ROUTES
    upstreams: dict[str, tuple[str, ...]] = Field(default_factory=lambda: dict(DEFAULT_UPSTREAMS))
    """Static base URLs per service: the Kubernetes Service names there, the local ports here.
    With discovery on, they are used for a service the registry has no instance of."""
    discovery_url: str | None = None
    """The registry (``http://127.0.0.1:8761/eureka``); None uses the static URLs only."""
    discovery_refresh_seconds: float = Field(default=10.0, gt=0, le=300)

    load_balancing: Literal["round-robin", "least-outstanding"] = "least-outstanding"
    eject_after_failures: int = Field(default=3, ge=1, le=100)
    """Consecutive connection failures or 5xx answers after which an instance is ejected."""
    eject_seconds: float = Field(default=10.0, gt=0, le=3600)

    breaker_failure_rate: float = Field(default=0.5, gt=0, le=1)
    breaker_minimum_calls: int = Field(default=10, ge=1)
    breaker_window_size: int = Field(default=20, ge=1)
    breaker_window_seconds: float = Field(default=30.0, gt=0)
    breaker_open_seconds: float = Field(default=15.0, gt=0)
    breaker_half_open_calls: int = Field(default=3, ge=1)

    max_attempts: int = Field(default=2, ge=1, le=3)
    """Attempts of an idempotent, bodiless request, the first included."""
    retry_budget_ratio: float = Field(default=0.2, ge=0, le=1)
    """Retries allowed as a share of requests over the budget window, so a failing upstream
    is not hit by a retry storm on top of its normal load."""
    retry_budget_min: int = Field(default=10, ge=0)
    """Retries always allowed per window, so a quiet gateway can still retry at all."""
    retry_budget_window_seconds: float = Field(default=10.0, gt=0, le=600)

    rate_limits: dict[str, str] = Field(
        default_factory=lambda: {"default": "100/minute", "auth": "100/minute"}
    )
    fail_closed_rate_limits: frozenset[str] = frozenset({"auth"})
    """Classes that refuse requests (503) when Valkey cannot count them; the others let
    them through and count ``spotilike_gateway_rate_limit_fail_open_total``."""
    rate_limit_namespace: str = Field(default="gateway", pattern=r"^[A-Za-z0-9:_-]{1,64}$")

    trusted_proxies: tuple[str, ...] = ()
    """Addresses or CIDR ranges of proxies in front of the gateway whose X-Forwarded-For
    is believed; the client is then the rightmost entry outside these."""

    metrics_networks: tuple[str, ...] = (
        "127.0.0.0/8",
        "::1/128",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fc00::/7",
    )
    """Peers that may read ``/metrics`` (a scraper next to the gateway). Anyone else, and
    any request through a trusted proxy (it came from outside), gets what an unknown path
    gets: the metrics name the routes, services and traffic of the platform."""

    cors_origins: tuple[str, ...] = ()
    cors_allow_credentials: bool = False
    cors_max_age_seconds: int = Field(default=600, ge=0, le=86_400)
    cors_allow_methods: tuple[str, ...] = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
    cors_allow_headers: tuple[str, ...] = (
        "Authorization",
        "Content-Type",
        "Idempotency-Key",
        "X-Request-ID",
        "Range",
        "If-Range",
        "If-None-Match",
    )

    max_body_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)
    max_header_bytes: int = Field(default=32 * 1024, ge=1024, le=1024 * 1024)
    idle_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    """Longest silence allowed while a request or response body is flowing."""
    min_body_bytes_per_second: float = Field(default=1024, ge=0)
    """Average rate a request body must keep up after its first idle period (0: none), so
    a body sent a byte at a time cannot hold an upstream connection indefinitely."""
    keep_alive_seconds: float = Field(default=5.0, gt=0, le=600)
    connect_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    upstream_connection_limit: int = Field(default=1000, ge=1)
    upstream_connections_per_instance: int = Field(default=250, ge=1)
    """At most this many of the pool's connections go to one upstream instance, so
    clients holding connections to one service cannot take every service's."""
    upstream_idle_seconds: float = Field(default=4.0, gt=0, le=600)
    """How long an idle upstream connection may be reused. Below uvicorn's 5 s keep-alive,
    so the gateway never writes into a connection the service is closing."""
    websocket_max_message_bytes: int = Field(default=1024 * 1024, ge=1024)

    static_dir: Path | None = Field(default_factory=lambda: Path.cwd() / "web" / "dist")
    """The web player's build; served at / when the folder exists."""

    @model_validator(mode="after")
    def _routes_are_consistent(self) -> GatewaySettings:
        prefixes = [route.prefix.rstrip("/") or "/" for route in self.routes]
        duplicates = sorted({p for p in prefixes if prefixes.count(p) > 1})
        if duplicates:
            raise ValueError(f"SPOTILIKE_GATEWAY_ROUTES has duplicate prefixes: {duplicates}")
        unknown = sorted(
            {r.rate_limit for r in self.routes if r.rate_limit is not None} - set(self.rate_limits)
        )
        if unknown:
            raise ValueError(
                f"SPOTILIKE_GATEWAY_ROUTES names rate-limit classes {unknown} that "
                f"SPOTILIKE_GATEWAY_RATE_LIMITS does not define (it has {sorted(self.rate_limits)})"
            )
        if self.cors_allow_credentials and "*" in self.cors_origins:
            # Starlette would then echo every origin back with credentials allowed: any
            # site could call the API with the visitor's cookies.
            raise ValueError(
                "SPOTILIKE_GATEWAY_CORS_ORIGINS may not contain '*' while "
                "CORS_ALLOW_CREDENTIALS is true; list the origins"
            )
        if self.breaker_minimum_calls > self.breaker_window_size:
            raise ValueError(
                "SPOTILIKE_GATEWAY_BREAKER_MINIMUM_CALLS must not exceed BREAKER_WINDOW_SIZE"
            )
        return self
