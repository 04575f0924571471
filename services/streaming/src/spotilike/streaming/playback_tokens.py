"""Short-lived signed playback tokens for the variant playlist and segment URLs.

The master playlist hands each URL it lists a token that says "this user may fetch
this track (at this quality) until this second". A token reads ``<kid>.<expiry>.<mac>``:

- ``kid`` names the key that signed it, so keys can be rotated without a flag day;
- ``expiry`` is a Unix time in whole seconds, at most five minutes after issue;
- ``mac`` is the unpadded base64url HMAC-SHA256 over a canonical, length-prefixed
  encoding of (format version, kid, user, track, quality scope, expiry).

The user, track and quality are not in the token: the verifier takes them from the
authenticated request and from the URL path, so a token only verifies for the exact
scope it was issued for, and any edit to the path, the user, the kid or the expiry
breaks the MAC.

Scopes match exactly. ``quality=None`` is a scope of its own ("the whole track"), not a
wildcard: a handler that serves every rung verifies with ``quality=None``, a handler
that serves one rung verifies with that rung's name, and a per-quality token never
verifies as a track-wide one or the other way round. Keeping it exact means one MAC per
check and no rule about which scope implies which.

Why not itsdangerous or a JWT: the token rides on every segment URL of a playlist, so it
has to be short (about 70 characters here; a JWT with the same claims is several times
that, and its header invites algorithm confusion). Binding to user + track + quality
without putting them in the token needs the scope inside the MAC input, which
itsdangerous only offers by abusing the salt, and its rotation tries every secret key in
turn instead of naming one. What is left is a few lines of stdlib ``hmac``.

Rotation: add the new key to the mapping everywhere, then make it ``current``, then drop
the old key once the longest TTL (five minutes) has passed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal

__all__ = [
    "KEY_ID_MAX_LENGTH",
    "MAX_TOKEN_LENGTH",
    "MAX_TTL_SECONDS",
    "MIN_KEY_BYTES",
    "PlaybackKeys",
    "PlaybackTokenRejected",
    "RejectionReason",
    "issue",
    "verify",
]

MAX_TTL_SECONDS: Final = 300
MAX_TOKEN_LENGTH: Final = 256
MIN_KEY_BYTES: Final = 32
KEY_ID_MAX_LENGTH: Final = 16

# Changing what goes into the MAC means changing this, so old tokens cannot be read
# under new rules; with a five-minute TTL no migration is needed.
_FORMAT_VERSION: Final = "spotilike-playback-v1"
_MAC_LENGTH: Final = 43  # unpadded base64url of 32 bytes

_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")
# Explicit ASCII classes (not \d or \w, which match other scripts' digits and letters),
# canonical expiry (no leading zero) and a fixed-length MAC: one spelling per token.
_TOKEN = re.compile(
    r"(?P<kid>[A-Za-z0-9_-]{1,16})\.(?P<expiry>[1-9][0-9]{0,11})\.(?P<mac>[A-Za-z0-9_-]{43})"
)

RejectionReason = Literal["malformed", "unknown-key", "expired", "bad-signature"]


class PlaybackTokenRejected(Exception):  # noqa: N818 - the name is the public API
    """A playback token does not grant the requested fetch; ``reason`` is a stable code."""

    def __init__(self, reason: RejectionReason) -> None:
        super().__init__(reason)
        self.reason: RejectionReason = reason


class PlaybackKeys:
    """The HMAC keys by key id, and which one signs new tokens; every listed key verifies."""

    __slots__ = ("_current", "_keys")

    def __init__(self, keys: Mapping[str, bytes], *, current: str) -> None:
        if not keys:
            raise ValueError("at least one playback key is required")
        for kid, secret in keys.items():
            if not _KEY_ID.fullmatch(kid):
                raise ValueError(
                    f"playback key id {kid!r} must be 1-{KEY_ID_MAX_LENGTH} of A-Z a-z 0-9 _ -"
                )
            if not isinstance(secret, bytes):
                raise TypeError(f"playback key {kid!r} must be bytes")
            if len(secret) < MIN_KEY_BYTES:
                raise ValueError(f"playback key {kid!r} must be at least {MIN_KEY_BYTES} bytes")
        if current not in keys:
            raise ValueError(f"current playback key {current!r} is not among the keys")
        self._keys: Mapping[str, bytes] = MappingProxyType(dict(keys))
        self._current = current

    @property
    def current(self) -> str:
        return self._current

    @property
    def signing_key(self) -> tuple[str, bytes]:
        return self._current, self._keys[self._current]

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def secret(self, kid: str) -> bytes | None:
        return self._keys.get(kid)

    def __repr__(self) -> str:
        # Never the secrets: this object ends up in logs and tracebacks.
        return f"PlaybackKeys(key_ids={sorted(self._keys)!r}, current={self._current!r})"


def issue(
    keys: PlaybackKeys,
    *,
    user_id: str,
    track_id: str,
    quality: str | None,
    now: float,
    ttl_seconds: int = MAX_TTL_SECONDS,
) -> str:
    """A token for this user and track (and quality, unless None) valid for ``ttl_seconds``.

    The expiry is rounded down to the second, so the lifetime is never above the TTL.
    """
    if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
        raise ValueError(f"ttl_seconds must be between 1 and {MAX_TTL_SECONDS}")
    if not math.isfinite(now) or now < 0:
        raise ValueError("now must be a finite, non-negative Unix time")
    if not user_id or not track_id:
        raise ValueError("user_id and track_id must not be empty")
    if quality == "":
        raise ValueError("quality must be None or a non-empty rung name")
    kid, secret = keys.signing_key
    expiry = math.floor(now) + ttl_seconds
    mac = _mac(secret, kid=kid, user_id=user_id, track_id=track_id, quality=quality, expiry=expiry)
    return f"{kid}.{expiry}.{mac}"


def verify(
    keys: PlaybackKeys,
    token: str,
    *,
    user_id: str,
    track_id: str,
    quality: str | None,
    now: float,
) -> None:
    """Return if the token grants exactly this scope at ``now``, else raise the reason.

    The signature is checked before the expiry, so "expired" always means a genuine
    token that has run out (the client should fetch a fresh master playlist), never a
    forged one.
    """
    if len(token) > MAX_TOKEN_LENGTH:
        raise PlaybackTokenRejected("malformed")
    parts = _TOKEN.fullmatch(token)
    if parts is None:
        raise PlaybackTokenRejected("malformed")
    kid = parts["kid"]
    secret = keys.secret(kid)
    if secret is None:
        raise PlaybackTokenRejected("unknown-key")
    expiry = int(parts["expiry"])
    expected = _mac(
        secret, kid=kid, user_id=user_id, track_id=track_id, quality=quality, expiry=expiry
    )
    # Comparing the encoded text (not decoded bytes) also rejects the other spellings
    # of the same MAC that base64's unused trailing bits would allow.
    if not hmac.compare_digest(expected, parts["mac"]):
        raise PlaybackTokenRejected("bad-signature")
    if not now < expiry:
        raise PlaybackTokenRejected("expired")


def _mac(
    secret: bytes, *, kid: str, user_id: str, track_id: str, quality: str | None, expiry: int
) -> str:
    # Length-prefixing every field makes the encoding injective: no choice of ids can
    # make two different scopes produce the same MAC input.
    scope_kind = "track" if quality is None else "quality"
    fields = (_FORMAT_VERSION, kid, user_id, track_id, scope_kind, quality or "", str(expiry))
    message = b"".join(
        str(len(raw)).encode("ascii") + b":" + raw
        for raw in (field.encode("utf-8", "surrogatepass") for field in fields)
    )
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
