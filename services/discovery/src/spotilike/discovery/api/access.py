"""The optional shared secret in front of the registry (Eureka itself has none).

Basic auth, because that is what Eureka clients can send: every one of them takes
``http://user:password@host:8761/eureka`` as its server URL. Writes need it whenever a
password is set; reads too when ``read_requires_auth`` is on.
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


def _check(request: Request) -> None:
    settings: DiscoverySettings = request.app.state.settings
    if settings.write_password is None:
        return
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    try:
        decoded = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    username, _, password = decoded.partition(":")
    expected = settings.write_password.get_secret_value()
    # Both comparisons always run, so the time taken says nothing about which part is wrong.
    user_ok = secrets.compare_digest(username.encode(), settings.write_username.encode())
    password_ok = secrets.compare_digest(password.encode(), expected.encode())
    if scheme.lower() != "basic" or not (user_ok and password_ok):
        raise Unauthorized(
            "The registry needs its credentials (basic auth).",
            code="discovery/unauthorized",
            headers=_CHALLENGE,
        )


async def require_writer(request: Request) -> None:
    _check(request)


async def require_reader(request: Request) -> None:
    settings: DiscoverySettings = request.app.state.settings
    if settings.read_requires_auth:
        _check(request)
