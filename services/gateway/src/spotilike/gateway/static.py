"""The web player's built files, served at ``/`` when the build folder exists.

Starlette's ``StaticFiles`` does the file serving (safe path joins, ETag, Last-Modified,
HEAD, 304s); this adds what a single-page app needs around it: any path that is not a
file gets ``index.html`` (the client-side router handles it), files under ``/assets/``
carry content hashes in their names and are cached for a year, and ``index.html`` is
revalidated every time so a new build is seen at once. Refusals are raised as problems
for the gateway to answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from spotilike.kit.errors import Problem

__all__ = ["IMMUTABLE", "REVALIDATE", "WebPlayerFiles"]

IMMUTABLE: Final = b"public, max-age=31536000, immutable"
REVALIDATE: Final = b"no-cache"


class WebPlayerFiles:
    def __init__(self, directory: Path) -> None:
        self._files = StaticFiles(directory=directory, check_dir=True)
        self._index = directory / "index.html"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        relative = path.lstrip("/")
        cache = IMMUTABLE if path.startswith("/assets/") else REVALIDATE
        try:
            response = await self._files.get_response(relative or "index.html", scope)
        except HTTPException as exc:
            # A missing asset is a real 404; a missing page is a client-side route.
            if exc.status_code != 404 or path.startswith("/assets/") or not self._index.is_file():
                raise Problem(
                    "No such file." if exc.status_code == 404 else str(exc.detail),
                    status=exc.status_code,
                    code="not-found" if exc.status_code == 404 else "static-file-refused",
                ) from None
            response = await self._files.get_response("index.html", scope)
            cache = REVALIDATE
        if relative in ("", "index.html"):
            cache = REVALIDATE

        async def send_with_cache(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *(h for h in message.get("headers", []) if h[0].lower() != b"cache-control"),
                    (b"cache-control", cache),
                ]
            await send(message)

        await response(scope, receive, send_with_cache)
