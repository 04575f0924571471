"""The public keys every service verifies our tokens with."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from spotilike.users.api.deps import RuntimeDep

__all__ = ["router"]

router = APIRouter(tags=["keys"])


@router.get("/.well-known/jwks.json", summary="The JSON Web Key Set of the token signing keys")
async def jwks(runtime: RuntimeDep, response: Response) -> dict[str, Any]:
    # Short enough that a rotation reaches every cache well within a key's overlap.
    response.headers["Cache-Control"] = "public, max-age=300"
    return dict(await runtime.keys.jwks())
