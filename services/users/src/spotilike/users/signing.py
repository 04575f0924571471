"""RS256 signing keys and the access tokens they sign.

The private keys live only in this service's database, encrypted with the service's
passphrase (PKCS#8, best available encryption), and only in memory once loaded. The
public halves are what ``/.well-known/jwks.json`` publishes; the kit's verifier in every
other service trusts exactly those.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "AccessToken",
    "GeneratedKey",
    "KeyPair",
    "generate_key",
    "load_key_pair",
    "sign_access_token",
]

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type (RFC 9068), not a secret
_KEY_BITS = 3072
"""NIST SP 800-57 puts 3072-bit RSA at 128-bit security, which outlives 2030."""


@dataclass(frozen=True)
class GeneratedKey:
    kid: str
    encrypted_private_pem: bytes
    public_jwk: dict[str, Any]


@dataclass(frozen=True)
class KeyPair:
    """A loaded signing key. Its repr hides the private key so it never reaches a log."""

    kid: str
    private_key: rsa.RSAPrivateKey

    def __repr__(self) -> str:
        return f"KeyPair(kid={self.kid!r})"


@dataclass(frozen=True)
class AccessToken:
    token: str
    jti: str
    expires_at: datetime


def _public_jwk(kid: str, private_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


def generate_key(passphrase: str) -> GeneratedKey:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)
    kid = datetime.now(UTC).strftime("%Y%m%d") + "-" + secrets.token_hex(6)
    encrypted = private_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.BestAvailableEncryption(passphrase.encode()),
    )
    return GeneratedKey(
        kid=kid, encrypted_private_pem=encrypted, public_jwk=_public_jwk(kid, private_key)
    )


def load_key_pair(kid: str, encrypted_private_pem: bytes, passphrase: str) -> KeyPair:
    private_key = serialization.load_pem_private_key(
        encrypted_private_pem, password=passphrase.encode()
    )
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise TypeError(f"signing key {kid} is not an RSA key")
    return KeyPair(kid=kid, private_key=private_key)


def sign_access_token(
    key: KeyPair,
    *,
    issuer: str,
    audience: str,
    subject: str,
    roles: list[str],
    ttl: timedelta,
    session_id: str,
    artist_id: str | None = None,
    now: datetime | None = None,
) -> AccessToken:
    issued = now or datetime.now(UTC)
    expires = issued + ttl
    jti = str(uuid.uuid4())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "roles": sorted(roles),
        "jti": jti,
        "sid": session_id,
        "iat": int(issued.timestamp()),
        "nbf": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
    }
    if artist_id is not None:
        claims["artist_id"] = artist_id
    token = jwt.encode(
        claims,
        key.private_key,
        algorithm="RS256",
        headers={"kid": key.kid, "typ": ACCESS_TOKEN_TYPE},
    )
    return AccessToken(token=token, jti=jti, expires_at=datetime.fromtimestamp(claims["exp"], UTC))
