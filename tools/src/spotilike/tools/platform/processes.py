"""Which processes make up the local platform, in start order, and how each is started.

Every service runs its own ``spotilike <service> serve`` (which migrates its database
first), so `make up` starts exactly what an operator would by hand. The services register
with discovery and the gateway finds them there, with the fixed local ports as fallback.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from spotilike.tools.stack.config import StackEndpoints

__all__ = ["GATEWAY_PORT", "ProcessSpec", "platform_processes"]

GATEWAY_PORT = 8080
DISCOVERY_PORT = 8761


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: tuple[str, ...]
    port: int | None
    """Where it answers ``/health/ready``; None for a process without HTTP (a worker)."""
    env: Mapping[str, str] = field(default_factory=dict)
    stage: int = 1
    """Processes of one stage start together; a stage starts once the previous is ready.
    Discovery is stage 0, the services 1, the gateway 2 (last in, first out)."""

    @property
    def health_url(self) -> str | None:
        return None if self.port is None else f"http://127.0.0.1:{self.port}/health/ready"


def _spotilike(*arguments: str) -> tuple[str, ...]:
    # The console script next to this interpreter: the same environment, no PATH lookup.
    return (str(Path(sys.executable).with_name("spotilike")), *arguments)


def platform_processes(
    endpoints: StackEndpoints,
    *,
    public_url: str = f"http://localhost:{GATEWAY_PORT}",
    overrides: Mapping[str, Mapping[str, str]] | None = None,
) -> list[ProcessSpec]:
    """The platform's processes for a stack at ``endpoints``; ``overrides`` adds environment
    per process name (tests raise the gateway's limits this way)."""
    discovery = f"http://127.0.0.1:{DISCOVERY_PORT}/eureka"
    storage = endpoints.storage_root.as_uri()
    # Celery's broker gets its own Valkey database, so its keys never mix with the caches.
    broker = endpoints.redis_url.rsplit("/", 1)[0] + "/1"

    def service_env(prefix: str, port: int, **extra: str) -> dict[str, str]:
        values = {
            "PORT": str(port),
            "PUBLIC_URL": public_url,
            "REDIS_URL": endpoints.redis_url,
            "KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap,
            "DISCOVERY_URL": discovery,
            "LOG_JSON": "true",
            **extra,
        }
        return {f"SPOTILIKE_{prefix}_{name}": value for name, value in values.items()}

    def database(name: str) -> dict[str, str]:
        return {
            "DATABASE_URL": endpoints.sqlalchemy_url(name),
            "DATABASE_REPLICA_URL": endpoints.sqlalchemy_url(name, replica=True),
        }

    specs = [
        ProcessSpec(
            "discovery",
            _spotilike("discovery", "serve"),
            DISCOVERY_PORT,
            {
                "SPOTILIKE_DISCOVERY_PORT": str(DISCOVERY_PORT),
                "SPOTILIKE_DISCOVERY_REDIS_URL": endpoints.redis_url,
            },
            stage=0,
        ),
        ProcessSpec(
            "users",
            _spotilike("users", "serve"),
            8101,
            service_env(
                "USERS",
                8101,
                WEB_URL=public_url,
                # On one machine every browser, script and test is 127.0.0.1: a per-address
                # sign-up limit would count them all as one client.
                RISK_IP_REGISTRATIONS_PER_HOUR="10000",
                RISK_IP_LOGINS_PER_MINUTE="10000",
                **database("users"),
            ),
        ),
        ProcessSpec(
            "catalog",
            _spotilike("catalog", "serve"),
            8102,
            service_env("CATALOG", 8102, **database("catalog")),
        ),
        ProcessSpec(
            "audio",
            _spotilike("audio", "serve"),
            8103,
            service_env(
                "AUDIO", 8103, STORAGE_URL=storage, CELERY_BROKER_URL=broker, **database("audio")
            ),
        ),
        ProcessSpec(
            "audio-worker",
            _spotilike("audio", "worker", "--beat"),
            None,
            service_env(
                "AUDIO", 8103, STORAGE_URL=storage, CELERY_BROKER_URL=broker, **database("audio")
            ),
        ),
        ProcessSpec(
            "streaming",
            _spotilike("streaming", "serve"),
            8104,
            service_env("STREAMING", 8104, STORAGE_URL=storage, **database("streaming")),
        ),
        ProcessSpec(
            "notifications",
            _spotilike("notifications", "serve"),
            8105,
            service_env(
                "NOTIFICATIONS",
                8105,
                SMTP_HOST=endpoints.smtp_host,
                SMTP_PORT=str(endpoints.smtp_port),
                **database("notifications"),
            ),
        ),
        ProcessSpec(
            "gateway",
            _spotilike("gateway", "serve"),
            GATEWAY_PORT,
            {
                "SPOTILIKE_GATEWAY_PORT": str(GATEWAY_PORT),
                "SPOTILIKE_GATEWAY_HOST": "127.0.0.1",
                "SPOTILIKE_GATEWAY_REDIS_URL": endpoints.redis_url,
                "SPOTILIKE_GATEWAY_DISCOVERY_URL": discovery,
                "SPOTILIKE_GATEWAY_PUBLIC_URL": public_url,
            },
            stage=2,
        ),
    ]
    extra = overrides or {}
    return [replace(spec, env={**spec.env, **extra.get(spec.name, {})}) for spec in specs]
