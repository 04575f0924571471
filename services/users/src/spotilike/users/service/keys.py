"""The key ring: which key signs now, and which public keys the JWKS publishes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from spotilike.kit.db import Database
from spotilike.users import repository
from spotilike.users.models import SigningKey
from spotilike.users.signing import KeyPair, generate_key, load_key_pair

__all__ = ["KeyRing", "Rotation", "rotate_keys"]

_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Rotation:
    new_kid: str
    retired: int


async def rotate_keys(database: Database, *, passphrase: str) -> Rotation:
    """Makes a new key the signing key; the old ones stay published for the overlap.

    The new key is published (in the JWKS) from the same commit that makes it sign, and
    the verifiers' caches refetch on an unknown kid, so no token is ever unverifiable.
    """
    generated = await asyncio.to_thread(generate_key, passphrase)
    async with database.transaction() as session:
        await repository.lock_signing_keys(session)
        await repository.add(
            session,
            SigningKey(
                kid=generated.kid,
                private_key_pem=generated.encrypted_private_pem,
                public_jwk=generated.public_jwk,
            ),
        )
        retired = await repository.retire_signing_keys(
            session, keep=generated.kid, now=datetime.now(UTC)
        )
    _log.info("signing_key_rotated", kid=generated.kid, retired=retired)
    return Rotation(new_kid=generated.kid, retired=retired)


class KeyRing:
    """Caches the signing key and the JWKS for ``refresh_seconds``.

    Every replica reads the keys from the database, so a rotation done by one replica or
    by ``spotilike users rotate-keys`` reaches all of them within that time.
    """

    def __init__(
        self,
        database: Database,
        *,
        passphrase: str,
        retired_key_published: timedelta,
        refresh_seconds: float = 30.0,
    ) -> None:
        self._database = database
        self._passphrase = passphrase
        self._published_for = retired_key_published
        self._refresh_seconds = refresh_seconds
        self._signing: KeyPair | None = None
        self._jwks: dict[str, Any] = {"keys": []}
        self._loaded_at = -float("inf")
        self._lock = asyncio.Lock()

    async def signing_key(self) -> KeyPair:
        await self._refresh_if_stale()
        assert self._signing is not None
        return self._signing

    async def jwks(self) -> Mapping[str, Any]:
        await self._refresh_if_stale()
        return self._jwks

    async def reload(self) -> None:
        async with self._lock:
            await self._load()

    async def _refresh_if_stale(self) -> None:
        if time.monotonic() - self._loaded_at < self._refresh_seconds and self._signing:
            return
        async with self._lock:
            if time.monotonic() - self._loaded_at < self._refresh_seconds and self._signing:
                return
            await self._load()

    async def _load(self) -> None:
        now = datetime.now(UTC)
        async with self._database.transaction() as session:
            current = await repository.signing_key_for_signing(session)
            if current is None:
                await repository.lock_signing_keys(session)
                current = await repository.signing_key_for_signing(session)
            if current is None:
                generated = await asyncio.to_thread(generate_key, self._passphrase)
                current = SigningKey(
                    kid=generated.kid,
                    private_key_pem=generated.encrypted_private_pem,
                    public_jwk=generated.public_jwk,
                )
                await repository.add(session, current)
                _log.info("signing_key_created", kid=current.kid)
            published = await repository.published_signing_keys(
                session, retired_after=now - self._published_for
            )
        if self._signing is None or self._signing.kid != current.kid:
            self._signing = await asyncio.to_thread(
                load_key_pair, current.kid, current.private_key_pem, self._passphrase
            )
        self._jwks = {"keys": [dict(key.public_jwk) for key in published]}
        self._loaded_at = time.monotonic()
