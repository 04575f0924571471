"""The password policy and the password hasher.

The policy follows NIST SP 800-63B: length is the only rule (8 to 128 characters), with no
composition rules, and a password is refused if it is a known common one or the account's
own email address. Passwords are compared and hashed in NFKC form, so the same password
typed on two keyboards that encode accents differently still matches.

Hashing is Argon2id through argon2-cffi. It is meant to be expensive, so it never runs on
the event loop, and at most ``concurrency`` hashes run at once: a burst of logins queues
instead of taking every core and ``memory_kib`` of memory per attempt.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import secrets
import unicodedata
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, TypeVar

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from spotilike.users.settings import OWASP_ARGON2_MINIMUM

if TYPE_CHECKING:
    from spotilike.users.settings import UsersSettings

__all__ = [
    "PASSWORD_MAX_LENGTH",
    "PASSWORD_MIN_LENGTH",
    "PasswordHasher",
    "PasswordRejected",
    "check_password_policy",
]

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
"""NIST asks to allow at least 64; 128 leaves room for passphrases and password managers."""

_T = TypeVar("_T")


class PasswordRejected(Exception):  # noqa: N818 - the name is the public API
    """A password the policy refuses; ``message`` can be shown to the user as it is."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


@functools.cache
def _common_passwords() -> frozenset[str]:
    packed = (resources.files("spotilike.users") / "data" / "common-passwords.txt.gz").read_bytes()
    lines = gzip.decompress(packed).decode("utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines if line.strip())


def check_password_policy(password: str, *, email: str | None = None) -> None:
    """Raise :class:`PasswordRejected` unless ``password`` may be set for the account.

    Length counts code points of the NFKC form, so "é" counts once however it was typed.
    """
    normalised = _normalise(password)
    if len(normalised) < PASSWORD_MIN_LENGTH:
        raise PasswordRejected(
            "password/too-short", f"Use at least {PASSWORD_MIN_LENGTH} characters."
        )
    if len(normalised) > PASSWORD_MAX_LENGTH:
        raise PasswordRejected(
            "password/too-long", f"Use at most {PASSWORD_MAX_LENGTH} characters."
        )
    folded = normalised.casefold()
    if email:
        address = _normalise(email).strip().casefold()
        local_part = address.rpartition("@")[0] or address
        if address in folded or folded == local_part:
            raise PasswordRejected(
                "password/contains-email", "Don't use your email address as your password."
            )
    if folded in _common_passwords():
        raise PasswordRejected(
            "password/too-common",
            "This password is one of the most common ones, so it is guessed first. Choose another.",
        )


class PasswordHasher:
    """Argon2id hashes, computed in threads, at most ``concurrency`` at a time.

    ``verifications`` counts the verifications started, real and dummy, so tests can check
    that an unknown user costs the same work as a wrong password without timing anything.
    """

    def __init__(
        self, *, memory_kib: int, time_cost: int, parallelism: int, concurrency: int
    ) -> None:
        requested = {"memory_kib": memory_kib, "time_cost": time_cost, "parallelism": parallelism}
        too_weak = [
            f"{name}={requested[name]} (minimum {minimum})"
            for name, minimum in OWASP_ARGON2_MINIMUM.items()
            if requested[name] < minimum
        ]
        if too_weak:
            raise ValueError("Argon2id parameters below the OWASP minimum: " + ", ".join(too_weak))
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self._argon2 = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )
        self._slots = asyncio.Semaphore(concurrency)
        self._dummy_hash: str | None = None
        self.verifications = 0

    @classmethod
    def from_settings(cls, settings: UsersSettings) -> PasswordHasher:
        return cls(
            memory_kib=settings.argon2_memory_kib,
            time_cost=settings.argon2_time_cost,
            parallelism=settings.argon2_parallelism,
            concurrency=settings.hashing_concurrency,
        )

    async def hash(self, password: str) -> str:
        return await self._run(functools.partial(self._argon2.hash, _normalise(password)))

    async def verify(self, stored_hash: str, password: str) -> bool:
        """Whether ``password`` matches; False, never an error, for a hash that is not valid."""
        self.verifications += 1
        return await self._run(functools.partial(self._matches, stored_hash, password))

    def needs_rehash(self, stored_hash: str) -> bool:
        """Whether ``stored_hash`` was made with other parameters than the current ones.

        A hash whose parameters cannot be read is not one we would make today, so it too
        needs a rehash.
        """
        try:
            return self._argon2.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    async def verify_dummy(self, password: str) -> None:
        """Spend the work of one verification, for a login whose account does not exist.

        The dummy hash is made on first use with the current parameters, so the first
        unknown-user login of a process also pays for one hash.
        """
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(32))
        self.verifications += 1
        await self._run(functools.partial(self._matches, self._dummy_hash, password))

    def _matches(self, stored_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(stored_hash, _normalise(password))
        except (VerificationError, InvalidHashError, UnicodeError):
            # UnicodeError: a hash that is not ASCII, or a password with lone surrogates,
            # can never have been produced by hash(); both are simply not a match.
            return False

    async def _run(self, work: Callable[[], _T]) -> _T:
        await self._slots.acquire()
        thread = asyncio.ensure_future(asyncio.to_thread(work))
        # The slot comes back when the thread finishes, not when the caller stops waiting:
        # a cancelled login must not let another hash start while its own still runs.
        thread.add_done_callback(lambda _: self._slots.release())
        return await asyncio.shield(thread)
