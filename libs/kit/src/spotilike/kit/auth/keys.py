"""The users service's signing keys, fetched from its JWKS endpoint and cached by ``kid``.

PyJWT's ``PyJWKClient`` fetches with blocking ``urllib`` and lets every caller with an
unknown ``kid`` trigger its own fetch, so an attacker minting random ``kid`` values could
turn each request into a request to the users service. :class:`JwksCache` is the small
async replacement: concurrent lookups share one fetch behind a lock, and an unknown ``kid``
refetches at most once per cooldown. Cached keys are also refreshed after ``max_age`` so a
key the users service has withdrawn stops verifying tokens without a restart; when that
refresh fails the last good keys stay in use rather than locking everyone out.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import structlog
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt import PyJWK, PyJWTError

from spotilike.kit.errors import Unauthorized

__all__ = [
    "DEFAULT_KEY_MAX_AGE_SECONDS",
    "DEFAULT_REFETCH_COOLDOWN_SECONDS",
    "JwksCache",
    "JwksFetchError",
    "JwksFetcher",
    "http_jwks_fetcher",
]

JwksFetcher = Callable[[], Awaitable[Mapping[str, Any]]]
"""Returns the JWKS document (``{"keys": [...]}``); raises on any failure."""

DEFAULT_REFETCH_COOLDOWN_SECONDS = 60.0
DEFAULT_KEY_MAX_AGE_SECONDS = 300.0
MIN_RSA_KEY_BITS = 2048
MAX_JWKS_BYTES = 1 << 20

_log = structlog.get_logger(__name__)


class JwksFetchError(Exception):
    """The JWKS endpoint answered, but not with a usable key set."""


def http_jwks_fetcher(url: str, *, timeout_seconds: float = 5.0) -> JwksFetcher:
    """Fetches the JWKS with an aiohttp GET of ``url``.

    A session per fetch is cheap enough: fetches happen once per cooldown at most, and it
    leaves no client for the application to close. Redirects are not followed; the URL
    comes from configuration and should name the endpoint itself.
    """
    timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def fetch() -> Mapping[str, Any]:
        body = bytearray()
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(
                url, allow_redirects=False, headers={"Accept": "application/json"}
            ) as response,
        ):
            if response.status != 200:
                raise JwksFetchError(f"the JWKS endpoint answered HTTP {response.status}")
            async for chunk in response.content.iter_chunked(64 * 1024):
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise JwksFetchError(f"the JWKS is larger than {MAX_JWKS_BYTES} bytes")
        document = json.loads(body)
        if not isinstance(document, dict):
            raise JwksFetchError("the JWKS is not a JSON object")
        return document

    return fetch


def _signing_keys(document: Mapping[str, Any]) -> dict[str, PyJWK]:
    """The RS256 signature keys of a JWKS, by ``kid``; every other entry is skipped.

    ``use`` and ``alg`` are optional in a JWK (RFC 7517), so only a present value that says
    something else (encryption, another algorithm) disqualifies a key.
    """
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise JwksFetchError("the JWKS has no 'keys' list")
    keys: dict[str, PyJWK] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid or kid in keys:
            continue
        if (
            entry.get("kty") != "RSA"
            or entry.get("use", "sig") != "sig"
            or entry.get("alg", "RS256") != "RS256"
        ):
            continue
        try:
            key = PyJWK(entry, algorithm="RS256")
        except PyJWTError:
            _log.warning("jwks_key_unreadable", kid=kid)
            continue
        if not isinstance(key.key, RSAPublicKey):
            # A private key in a published key set is a leak on the users service's side.
            _log.error("jwks_key_not_public", kid=kid)
            continue
        if key.key.key_size < MIN_RSA_KEY_BITS:
            _log.warning("jwks_key_too_short", kid=kid, bits=key.key.key_size)
            continue
        keys[kid] = key
    return keys


class JwksCache:
    """Signing keys by ``kid``, refetched when a ``kid`` is unknown or the keys are old.

    ``clock`` is a monotonic time source in seconds; tests pass a fake one to move past the
    cooldown without sleeping.
    """

    def __init__(
        self,
        fetch: JwksFetcher,
        *,
        refetch_cooldown_seconds: float = DEFAULT_REFETCH_COOLDOWN_SECONDS,
        max_age_seconds: float = DEFAULT_KEY_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if refetch_cooldown_seconds < 0:
            raise ValueError("refetch_cooldown_seconds must not be negative")
        if max_age_seconds < refetch_cooldown_seconds:
            raise ValueError("max_age_seconds must be at least refetch_cooldown_seconds")
        self._fetch = fetch
        self._cooldown = refetch_cooldown_seconds
        self._max_age = max_age_seconds
        self._clock = clock
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._last_attempt_failed = False
        self._lock = asyncio.Lock()

    def _is_fresh(self, now: float) -> bool:
        return self._fetched_at is not None and now - self._fetched_at < self._max_age

    def _may_fetch(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self._cooldown

    def is_current(self, kid: str) -> bool:
        """Whether ``kid`` is among keys fetched less than ``max_age`` ago.

        What a verification remembered from earlier relies on: once this turns false, the
        token goes back through :meth:`signing_key`, which refreshes the keys and so finds
        out whether the key was withdrawn.
        """
        return kid in self._keys and self._is_fresh(self._clock())

    async def signing_key(self, kid: str) -> PyJWK:
        """The key for ``kid``; raises :class:`Unauthorized` when there is none to be had."""
        key = self._keys.get(kid)
        if key is not None and self._is_fresh(self._clock()):
            return key
        async with self._lock:
            # Whoever held the lock before may have fetched already; the cooldown check
            # below is what makes a crowd of unknown-kid requests share that one fetch.
            now = self._clock()
            known_and_fresh = kid in self._keys and self._is_fresh(now)
            if not known_and_fresh and self._may_fetch(now):
                await self._refresh(now)
            key = self._keys.get(kid)
        if key is not None:
            return key
        if self._last_attempt_failed:
            raise Unauthorized(
                "The signing keys cannot be loaded right now; try again shortly.",
                code="auth/keys-unavailable",
            )
        raise Unauthorized(
            "The token is signed with a key this service does not know.",
            code="auth/unknown-key",
        )

    async def _refresh(self, now: float) -> None:
        self._attempted_at = now
        try:
            keys = _signing_keys(await self._fetch())
        except Exception as exc:
            # Whatever went wrong, the outcome is "no new keys": a 401 for the token, not a 500.
            self._last_attempt_failed = True
            _log.warning("jwks_fetch_failed", error_type=type(exc).__name__, error=str(exc))
            return
        self._keys = keys
        self._fetched_at = now
        self._last_attempt_failed = False
        _log.info("jwks_fetched", kids=sorted(keys))
