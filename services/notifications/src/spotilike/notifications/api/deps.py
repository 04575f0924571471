"""Dependencies the notification routers share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from spotilike.kit.app import state_dependency
from spotilike.kit.auth import Principal, require_role
from spotilike.notifications.service.runtime import Runtime

__all__ = ["Admin", "RuntimeDep"]

RuntimeDep = Annotated[Runtime, Depends(state_dependency("runtime", Runtime))]
Admin = Annotated[Principal, Depends(require_role("ADMIN"))]
