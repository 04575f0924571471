"""Request-scoped dependencies of the catalog API.

Routes declare the principal before their read session: FastAPI resolves dependencies
in that order, so read-your-writes routing finds who is asking.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from spotilike.catalog.service.runtime import Runtime
from spotilike.kit.app import state_dependency
from spotilike.kit.db import caller_key

__all__ = ["Caller", "Limit", "RuntimeDep"]


def _caller(request: Request) -> str | None:
    return caller_key(request)


RuntimeDep = Annotated[Runtime, Depends(state_dependency("runtime", Runtime))]
Caller = Annotated[str | None, Depends(_caller)]
Limit = Annotated[int | None, Query(ge=1, le=500, description="page size (clamped to the maximum)")]
