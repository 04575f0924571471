"""PostgreSQL access: engines, sessions, primary/replica routing and naming conventions.

Routing is explicit rather than guessed from the SQL: a use case that writes asks for a
:data:`WriteSession` (primary, committed when the request succeeds, rolled back when it
fails); one that only reads asks for a :data:`ReadSession`, which runs on the streaming
replica unless the same caller wrote within the read-your-writes window, because a
replica a few milliseconds behind would otherwise hide what the caller just saved.
Everything inside a write transaction, reads included, is on the primary by construction.

Repositories flush, never commit: the session's owner (the request, a consumer, a relay)
decides where the transaction ends.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import MetaData
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from spotilike.kit.metrics import DB_READ_SESSIONS

__all__ = [
    "NAMING_CONVENTION",
    "Database",
    "ReadSession",
    "RecentWriters",
    "WriteSession",
    "after_commit",
    "caller_key",
    "read_session",
    "service_metadata",
    "write_session",
]

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Deterministic constraint names, so Alembic can drop and alter what it created."""

_log = structlog.get_logger(__name__)


def service_metadata() -> MetaData:
    """A fresh ``MetaData`` with the naming convention, one per service.

    Each service owns its database, so each declares
    ``class Base(DeclarativeBase): metadata = service_metadata()``; the kit's messaging
    tables are added to that same metadata, so the service's migrations create them.
    """
    return MetaData(naming_convention=NAMING_CONVENTION)


class RecentWriters:
    """Remembers, in Valkey, which callers wrote in the last few seconds.

    Valkey rather than process memory because a caller's next request may reach another
    replica of the service. If Valkey cannot answer, reads go to the primary: slower, but
    never stale.
    """

    def __init__(self, redis: Redis, *, namespace: str, window_seconds: float) -> None:
        self._redis = redis
        self._namespace = namespace
        self._window_ms = int(window_seconds * 1000)

    def _key(self, caller: str) -> str:
        return f"ryw:{self._namespace}:{caller}"

    async def mark(self, caller: str) -> None:
        if self._window_ms <= 0:
            return
        try:
            await self._redis.set(self._key(caller), b"1", px=self._window_ms)
        except RedisError as exc:
            _log.warning("read_your_writes_mark_failed", error=str(exc))

    async def wrote_recently(self, caller: str) -> bool:
        if self._window_ms <= 0:
            return False
        try:
            return bool(await self._redis.exists(self._key(caller)))
        except RedisError as exc:
            _log.warning("read_your_writes_lookup_failed", error=str(exc))
            return True


def _engine(url: str, *, pool_size: int, application_name: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return create_async_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"server_settings": {"application_name": application_name}},
    )


class Database:
    """The primary and (optional) replica engines of one service's database."""

    def __init__(
        self,
        *,
        primary_url: str,
        replica_url: str | None = None,
        recent_writers: RecentWriters | None = None,
        pool_size: int = 10,
        application_name: str = "spotilike",
    ) -> None:
        self.primary = _engine(primary_url, pool_size=pool_size, application_name=application_name)
        self.replica = (
            _engine(replica_url, pool_size=pool_size, application_name=application_name)
            if replica_url
            else None
        )
        self.recent_writers = recent_writers
        self._application_name = application_name
        self._primary_sessions = async_sessionmaker(self.primary, expire_on_commit=False)
        self._replica_sessions = (
            async_sessionmaker(self.replica, expire_on_commit=False) if self.replica else None
        )

    def write_session(self) -> AsyncSession:
        return self._primary_sessions()

    async def read_session(self, caller: str | None = None) -> AsyncSession:
        if self._replica_sessions is None:
            self._count("primary-only")
            return self._primary_sessions()
        if (
            caller is not None
            and self.recent_writers is not None
            and await self.recent_writers.wrote_recently(caller)
        ):
            self._count("primary-own-writes")
            return self._primary_sessions()
        self._count("replica")
        return self._replica_sessions()

    def _count(self, target: str) -> None:
        DB_READ_SESSIONS.labels(application=self._application_name, target=target).inc()

    @asynccontextmanager
    async def transaction(self, *, caller: str | None = None) -> AsyncIterator[AsyncSession]:
        """A primary session committed on success and rolled back on error.

        Hooks registered with :func:`after_commit` run once the commit succeeded.
        """
        async with self._primary_sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
            hooks = session.info.pop(_AFTER_COMMIT, [])
        if caller is not None and self.recent_writers is not None:
            await self.recent_writers.mark(caller)
        for hook in hooks:
            try:
                await hook()
            except Exception as exc:
                # The transaction is committed: failing now would report a write that
                # happened as one that did not. The hook's own effect is what is lost.
                _log.error("after_commit_hook_failed", hook=repr(hook), error=str(exc))

    async def dispose(self) -> None:
        await self.primary.dispose()
        if self.replica is not None:
            await self.replica.dispose()


_AFTER_COMMIT = "spotilike_after_commit"


def after_commit(session: AsyncSession, hook: Callable[[], Awaitable[None]]) -> None:
    """Runs ``hook`` after the session's transaction (a :meth:`Database.transaction`)
    commits, and never if it rolls back: for effects outside the database, such as
    invalidating a cache, that must not happen for a change that did not."""
    session.info.setdefault(_AFTER_COMMIT, []).append(hook)


def caller_key(request: Request) -> str | None:
    """Who is asking, for read-your-writes: the verified subject, else the bearer token.

    Hashing the Authorization header identifies one login session without verifying it,
    which is all routing needs: a forged header only sends that request to the primary.
    """
    principal: Any = getattr(request.state, "principal", None)
    subject = getattr(principal, "subject", None)
    if isinstance(subject, str):
        return "sub:" + subject
    authorization = request.headers.get("authorization")
    if authorization:
        return "tok:" + hashlib.sha256(authorization.encode()).hexdigest()[:32]
    return None


def _database(request: Request) -> Database:
    database = getattr(request.app.state, "database", None)
    if not isinstance(database, Database):
        raise TypeError("app.state.database is not set; build the app with create_app(...)")
    return database


async def write_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with _database(request).transaction(caller=caller_key(request)) as session:
        yield session


async def read_session(request: Request) -> AsyncIterator[AsyncSession]:
    # Closing the session returns its connection with the read transaction rolled back.
    async with await _database(request).read_session(caller_key(request)) as session:
        yield session


WriteSession = Annotated[AsyncSession, Depends(write_session, scope="function")]
"""A primary session for a use case that writes: committed before the response is sent."""

ReadSession = Annotated[AsyncSession, Depends(read_session, scope="function")]
"""A session for a use case that only reads: the replica, or the primary just after a write."""
