"""Whatever arrives as a bearer token, the verifier answers with a 401 problem, never a crash."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spotilike.kit.auth import JwksCache, TokenVerifier
from spotilike.kit.errors import Unauthorized

pytestmark = pytest.mark.unit

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
_headers = st.fixed_dictionaries(
    {},
    optional={
        "alg": st.sampled_from(["RS256", "none", "HS256", "rs256"]) | _json_values,
        "typ": st.sampled_from(["at+jwt", "JWT", "application/at+jwt"]) | _json_values,
        "kid": st.sampled_from(["key-a", ""]) | _json_values,
        "crit": _json_values,
    },
)


def _segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _verify(key_a: Any, token: str) -> Unauthorized:
    async def fetch() -> dict[str, Any]:
        return {"keys": [key_a.public_jwk()]}

    verifier = TokenVerifier(
        issuer="https://spotilike.dev/users",
        audience="spotilike",
        keys=JwksCache(fetch),
        denylist=None,
    )
    with pytest.raises(Unauthorized) as raised:
        asyncio.run(verifier.verify(token))
    assert raised.value.status == 401
    return raised.value


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=st.text(max_size=200))
def test_arbitrary_text_is_rejected(key_a: Any, token: str) -> None:
    _verify(key_a, token)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=_headers, payload=_json_values, signature=st.binary(max_size=300))
def test_arbitrary_headers_payloads_and_signatures_are_rejected(
    key_a: Any, header: dict[str, Any], payload: object, signature: bytes
) -> None:
    token = ".".join(
        [
            _segment(json.dumps(header).encode()),
            _segment(json.dumps(payload).encode()),
            _segment(signature),
        ]
    )
    error = _verify(key_a, token)
    assert token not in error.detail
