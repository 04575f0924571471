"""Where the local stack lives and which loopback ports it takes.

Every value can be overridden from the environment so that two stacks (the developer's
and a test's throwaway one) can run side by side on one machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["StackConfig", "StackEndpoints"]


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        port = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise ValueError(f"{name}={port} is outside 1-65535")
    return port


@dataclass(frozen=True)
class StackEndpoints:
    """How clients reach the running stack. DSNs use libpq's URL form."""

    postgres_dsn: str
    postgres_replica_dsn: str
    redis_url: str
    kafka_bootstrap: str
    storage_root: Path
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 51025
    mail_root: Path | None = None
    """Where the SMTP sink keeps every message it received, one ``.eml`` file each."""

    def sqlalchemy_url(self, database: str, *, replica: bool = False) -> str:
        """The asyncpg SQLAlchemy URL of one service's database on the primary or replica."""
        dsn = self.postgres_replica_dsn if replica else self.postgres_dsn
        server = dsn.split("://", 1)[1].rsplit("/", 1)[0]
        return f"postgresql+asyncpg://{server}/{database}"


@dataclass(frozen=True)
class StackConfig:
    root: Path
    host: str = "127.0.0.1"
    pg_port: int = 55432
    pg_replica_port: int = 55433
    pg_user: str = "spotilike"
    valkey_port: int = 56379
    kafka_port: int = 59092
    kafka_controller_port: int = 59093
    smtp_port: int = 51025
    pg_bin: Path | None = None
    redis_bin: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    pg_system_user: str = "spotilike-pg"
    """The account PostgreSQL runs as when the stack is started by root (initdb refuses root)."""
    kafka_pom: Path | None = None
    """The pom that resolves the Kafka broker; None finds deploy/local/kafka/pom.xml."""
    start_timeout: float = 120.0
    """Seconds each component may take to become ready."""

    @classmethod
    def from_env(cls, root: Path | None = None) -> StackConfig:
        stack_root = root or Path(os.environ.get("SPOTILIKE_STACK_DIR", ".spotilike"))
        pg_bin = os.environ.get("SPOTILIKE_PG_BIN")
        redis_bin = os.environ.get("SPOTILIKE_REDIS_BIN")
        return cls(
            root=stack_root.resolve(),
            pg_port=_port("SPOTILIKE_PG_PORT", 55432),
            pg_replica_port=_port("SPOTILIKE_PG_REPLICA_PORT", 55433),
            valkey_port=_port("SPOTILIKE_VALKEY_PORT", 56379),
            kafka_port=_port("SPOTILIKE_KAFKA_PORT", 59092),
            kafka_controller_port=_port("SPOTILIKE_KAFKA_CONTROLLER_PORT", 59093),
            smtp_port=_port("SPOTILIKE_SMTP_PORT", 51025),
            pg_bin=Path(pg_bin) if pg_bin else None,
            redis_bin=Path(redis_bin) if redis_bin else None,
        )

    @property
    def endpoints(self) -> StackEndpoints:
        return StackEndpoints(
            postgres_dsn=f"postgresql://{self.pg_user}@{self.host}:{self.pg_port}/postgres",
            postgres_replica_dsn=(
                f"postgresql://{self.pg_user}@{self.host}:{self.pg_replica_port}/postgres"
            ),
            redis_url=f"redis://{self.host}:{self.valkey_port}/0",
            kafka_bootstrap=f"{self.host}:{self.kafka_port}",
            storage_root=self.root / "storage",
            smtp_host=self.host,
            smtp_port=self.smtp_port,
            mail_root=self.root / "mail",
        )
