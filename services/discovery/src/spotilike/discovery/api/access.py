"""The optional secrets in front of the registry (Eureka itself has none).

Basic auth, because that is what Eureka clients can send: every one of them takes
``http://user:password@host:8761/eureka`` as its server URL. Writes need credentials
whenever a password is set: the shared (operator's) ones for any app, or an app's own
(``app_passwords``) for that app only; reads too when ``read_requires_auth`` is on.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from fastapi import Request

from spotilike.discovery.settings import DiscoverySettings
from spotilike.kit.errors import Unauthorized

__all__ = ["require_reader", "require_writer"]

_CHALLENGE = {"WWW-Authenticate": 'Basic realm="spotilike-discovery", charset="UTF-8"'}


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, _, password = decoded.partition(":")
    return username, password


def _same(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())


def _allowed(settings: DiscoverySettings, username: str, password: str, app: str | None) -> bool:
    """The shared credentials write for every app; an app's own only for that app (for
    reads, ``app`` is None and any app's own credentials do)."""
    shared = False
    if settings.write_password is not None:
        # Both comparisons always run, so the time taken says nothing about which is wrong.
        user_ok = _same(username, settings.write_username)
        password_ok = _same(password, settings.write_password.get_secret_value())
        shared = user_ok and password_ok
    own = settings.app_password_map.get(username.upper())
    if own is None or (app is not None and username.upper() != app.upper()):
        return shared
    return _same(password, own) or shared


def _check(request: Request, app: str | None) -> None:
    settings: DiscoverySettings = request.app.state.settings
    if settings.write_password is None and settings.app_passwords is None:
        return
    credentials = _basic_credentials(request)
    if credentials is None or not _allowed(settings, *credentials, app):
        raise Unauthorized(
            "The registry needs its credentials (basic auth): the shared ones, or the "
            "app's own for its own registrations.",
            code="discovery/unauthorized",
            headers=_CHALLENGE,
        )


async def require_writer(request: Request) -> None:
    # Every write route names its app in the path.
    _check(request, request.path_params.get("app", ""))


async def require_reader(request: Request) -> None:
    settings: DiscoverySettings = request.app.state.settings
    if settings.read_requires_auth:
        _check(request, None)
