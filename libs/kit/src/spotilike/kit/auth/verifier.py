"""Verification of RS256 access tokens issued by the users service (RFC 8725, RFC 9068).

Every decision that matters for security is fixed here rather than read from the token:
the algorithm list is ``["RS256"]``, the key comes from our JWKS by ``kid``, ``typ`` must
say access token, and ``exp``/``iss``/``aud``/``sub``/``jti`` must all be present. Each
rejection is an :class:`~spotilike.kit.errors.Unauthorized` problem with a specific code;
its detail never repeats the token, and the token is never logged.

A token that verified is remembered (by its exact text) until it expires, so a client
sending it again costs a dictionary lookup instead of an RSA verification and a JSON
parse. What could change in the meantime is still checked on every request: the
denylist (logout takes effect at once), the expiry, and that the signing key is still
current (:meth:`JwksCache.is_current`, so a withdrawn key stops its tokens as soon as
the key cache would notice). Only tokens that verified are remembered, at most
``verified_cache_size`` of them, oldest dropped first.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, NamedTuple

import jwt
import structlog
from redis.exceptions import RedisError

from spotilike.kit.auth.keys import JwksCache
from spotilike.kit.auth.principal import Principal
from spotilike.kit.errors import Unauthorized

if TYPE_CHECKING:
    from spotilike.kit.auth.denylist import TokenDenylist

__all__ = [
    "ACCESS_TOKEN_TYPES",
    "ALGORITHMS",
    "DEFAULT_VERIFIED_CACHE_SIZE",
    "MAX_LEEWAY_SECONDS",
    "REQUIRED_CLAIMS",
    "TokenVerifier",
]

ALGORITHMS: Final = ("RS256",)
ACCESS_TOKEN_TYPES: Final = frozenset({"at+jwt", "application/at+jwt"})
"""RFC 9068 §2.1; media types compare case-insensitively."""
REQUIRED_CLAIMS: Final = ("exp", "iss", "aud", "sub", "jti")
MAX_LEEWAY_SECONDS: Final = 60
MAX_TOKEN_LENGTH: Final = 8192
"""Far above any token we issue; refusing longer ones caps the work a request can cause."""
DEFAULT_VERIFIED_CACHE_SIZE: Final = 4096
"""Tokens remembered as verified; ours are about 1 KB, so a few MB at most."""

_log = structlog.get_logger(__name__)

# Checked in order, so a subclass comes before the class it refines.
_REJECTIONS: Final[tuple[tuple[type[jwt.PyJWTError], str, str], ...]] = (
    (jwt.ExpiredSignatureError, "auth/expired-token", "The token has expired."),
    (jwt.ImmatureSignatureError, "auth/token-not-yet-valid", "The token is not valid yet."),
    (jwt.InvalidAudienceError, "auth/invalid-token", "The token is not meant for this service."),
    (jwt.InvalidIssuerError, "auth/invalid-token", "The token comes from an unknown issuer."),
    (jwt.MissingRequiredClaimError, "auth/invalid-token", "The token lacks a required claim."),
    (jwt.InvalidAlgorithmError, "auth/invalid-token", "The token's algorithm is not accepted."),
    (jwt.InvalidSignatureError, "auth/invalid-token", "The token's signature is not valid."),
    (jwt.DecodeError, "auth/malformed-token", "The token cannot be decoded."),
)


def _rejected(code: str, detail: str, **log_fields: Any) -> Unauthorized:
    _log.info("access_token_rejected", code=code, **log_fields)
    return Unauthorized(detail, code=code)


def _translate(error: jwt.PyJWTError) -> Unauthorized:
    for error_type, code, detail in _REJECTIONS:
        if isinstance(error, error_type):
            return _rejected(code, detail, reason=type(error).__name__)
    return _rejected("auth/invalid-token", "The token is not valid.", reason=type(error).__name__)


class _Verified(NamedTuple):
    principal: Principal
    kid: str
    valid_until: float
    """``exp`` plus the leeway: from then on PyJWT would call the token expired."""


def _unverified_header(segment: str) -> dict[str, Any]:
    """The JOSE header, decoded from its own segment only.

    ``jwt.get_unverified_header`` parses the whole token, and ``jwt.decode`` then parses it
    again; decoding the header segment alone took a third off a verification (bench/).
    """
    try:
        raw = base64.b64decode(segment + "=" * (-len(segment) % 4), altchars=b"-_", validate=True)
        header = json.loads(raw)
    except (binascii.Error, ValueError):
        raise _rejected("auth/malformed-token", "The token cannot be decoded.") from None
    if not isinstance(header, dict):
        raise _rejected("auth/malformed-token", "The token's header is not a JSON object.")
    return header


class TokenVerifier:
    """Turns a bearer token into a :class:`Principal` or raises :class:`Unauthorized`.

    ``denylist`` is required as an argument so that leaving out revocation is a visible
    choice (pass ``None``), not an accident of a default. ``clock`` is the wall clock the
    remembered tokens' expiry is read against (tests pass a fake one);
    ``verified_cache_size=0`` remembers nothing.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        keys: JwksCache,
        denylist: TokenDenylist | None,
        leeway_seconds: float = 0,
        roles_claim: str = "roles",
        verified_cache_size: int = DEFAULT_VERIFIED_CACHE_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0 <= leeway_seconds <= MAX_LEEWAY_SECONDS:
            raise ValueError(
                f"leeway_seconds must be between 0 and {MAX_LEEWAY_SECONDS}, "
                f"got {leeway_seconds}: a larger leeway keeps expired tokens alive"
            )
        if not issuer or not audience:
            raise ValueError("issuer and audience must both be set")
        if verified_cache_size < 0:
            raise ValueError("verified_cache_size must not be negative")
        self._issuer = issuer
        self._audience = audience
        self._keys = keys
        self._denylist = denylist
        self._leeway = leeway_seconds
        self._roles_claim = roles_claim
        self._verified: dict[str, _Verified] = {}
        self._verified_cache_size = verified_cache_size
        self._clock = clock

    async def verify(self, token: str) -> Principal:
        remembered = self._verified.get(token)
        if remembered is not None and self._keys.is_current(remembered.kid):
            if self._clock() >= remembered.valid_until:
                del self._verified[token]
                raise _translate(jwt.ExpiredSignatureError())
            principal = remembered.principal
        else:
            principal = await self._verify_signature(token)
        await self._check_not_revoked(principal.token_id)
        return principal

    async def _verify_signature(self, token: str) -> Principal:
        self._verified.pop(token, None)
        kid = self._check_header(token)
        key = await self._keys.signing_key(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS), "enforce_minimum_key_length": True},
            )
        except jwt.PyJWTError as error:
            raise _translate(error) from None
        principal = self._principal(token, claims)
        self._remember(token, principal, kid, valid_until=claims["exp"] + self._leeway)
        return principal

    def _remember(self, token: str, principal: Principal, kid: str, *, valid_until: float) -> None:
        if self._verified_cache_size == 0:
            return
        while len(self._verified) >= self._verified_cache_size:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = _Verified(principal, kid, valid_until)

    def _check_header(self, token: str) -> str:
        """Checks what can be checked before spending a signature verification; returns kid."""
        # PyJWT's base64 decoding skips stray characters, so a 4-segment token could decode;
        # count the segments ourselves.
        if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise _rejected("auth/malformed-token", "The token is not a signed JWT.")
        header = _unverified_header(token.split(".", 1)[0])
        if header.get("alg") not in ALGORITHMS:
            raise _rejected("auth/invalid-token", "The token's algorithm is not accepted.")
        token_type = header.get("typ")
        if not isinstance(token_type, str) or token_type.lower() not in ACCESS_TOKEN_TYPES:
            raise _rejected(
                "auth/wrong-token-type",
                "The token is not an access token.",
                typ=token_type if isinstance(token_type, str) else None,
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _rejected("auth/invalid-token", "The token does not name its signing key.")
        return kid

    def _principal(self, token: str, claims: Mapping[str, Any]) -> Principal:
        subject = claims["sub"]
        token_id = claims["jti"]
        roles = claims.get(self._roles_claim, [])
        if not isinstance(subject, str) or not subject:
            raise _rejected("auth/invalid-token", "The token names no subject.")
        if not isinstance(token_id, str) or not token_id:
            raise _rejected("auth/invalid-token", "The token has no token id.")
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise _rejected("auth/invalid-token", "The token's roles are not a list of names.")
        try:
            expires_at = datetime.fromtimestamp(claims["exp"], UTC)
        except (OverflowError, OSError, ValueError, TypeError):
            # PyJWT accepts any integer; a date that far out does not fit a datetime.
            raise _rejected("auth/invalid-token", "The token's expiry is out of range.") from None
        return Principal(
            subject=subject,
            roles=frozenset(roles),
            token_id=token_id,
            expires_at=expires_at,
            claims=MappingProxyType(dict(claims)),
            token=token,
        )

    async def _check_not_revoked(self, token_id: str) -> None:
        if self._denylist is None:
            return
        try:
            denied = await self._denylist.is_denied(token_id)
        except RedisError as error:
            # Failing closed: a revoked token must not pass just because Valkey is away.
            _log.warning("token_denylist_unavailable", error_type=type(error).__name__)
            raise Unauthorized(
                "The token cannot be checked right now; try again shortly.",
                code="auth/revocation-check-failed",
            ) from None
        if denied:
            raise _rejected("auth/token-revoked", "The token has been revoked.", jti=token_id)
