"""Liveness and readiness.

``/health/live`` answers as long as the event loop does: restarting the process is the
only cure it can call for. ``/health/ready`` checks the service's own dependencies, so a
load balancer stops sending traffic while, say, its database is unreachable, and the body
says which dependency failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from redis.asyncio import Redis
from sqlalchemy import text

from spotilike.kit.db import Database

__all__ = ["ReadinessCheck", "database_check", "health_router", "redis_check"]

ReadinessCheck = Callable[[], Awaitable[None]]
"""Raises when the dependency is not usable; the message is shown in the readiness body."""


@dataclass(frozen=True)
class _CheckResult:
    name: str
    ok: bool
    detail: str


def database_check(database: Database) -> ReadinessCheck:
    async def check() -> None:
        async with database.primary.connect() as connection:
            await connection.execute(text("SELECT 1"))

    return check


def redis_check(redis: Redis) -> ReadinessCheck:
    async def check() -> None:
        await redis.ping()

    return check


async def _run(name: str, check: ReadinessCheck, limit: float) -> _CheckResult:
    try:
        await asyncio.wait_for(check(), limit)
    except TimeoutError:
        return _CheckResult(name, ok=False, detail=f"no answer within {limit:g}s")
    except Exception as exc:
        return _CheckResult(name, ok=False, detail=f"{type(exc).__name__}: {exc}"[:300])
    return _CheckResult(name, ok=True, detail="ok")


def health_router(checks: Mapping[str, ReadinessCheck], *, timeout: float = 2.0) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health/live", include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/health/ready", include_in_schema=False)
    async def ready(_request: Request) -> JSONResponse:
        results = await asyncio.gather(*(_run(n, c, timeout) for n, c in checks.items()))
        healthy = all(r.ok for r in results)
        return JSONResponse(
            {
                "status": "ok" if healthy else "unavailable",
                "checks": {r.name: {"ok": r.ok, "detail": r.detail} for r in results},
            },
            status_code=200 if healthy else 503,
        )

    return router
