"""Schemathesis against the streaming service's own OpenAPI document: every check, no 5xx.

Every operation is fuzzed in every phase schemathesis has (examples, coverage, fuzzing;
positive and negative data) and every response goes through every check, with a
listener's token. The app runs under uvicorn on a loopback port in a thread, so requests
cross a real HTTP parser. About half the generated track ids are pointed at a playable
track with real renditions, so cases reach the playlists, segments, download and play
reports behind the 404s.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from schemathesis import Case, HookContext, Response
from schemathesis.core.failures import Failure
from schemathesis.openapi.checks import RejectedPositiveData
from streaming_support import MEDIA_PREFIX, put_track

from spotilike.kit.errors import PROBLEM_TYPE_BASE
from spotilike.streaming.app import create_streaming_app
from spotilike.streaming.settings import StreamingSettings
from spotilike.tools.pytest_plugin import (
    ScratchDatabase,
    TokenIssuer,
    drop_framing_headers,
    fuzz_settings,
    served_in_thread,
)

pytestmark = pytest.mark.integration

# Parametrizing needs the document at collection time; the app under test is built by
# the same factory and must serve exactly this document.
OPENAPI = create_streaming_app(StreamingSettings(), run_workers=False).openapi()
schema = schemathesis.openapi.from_dict(OPENAPI)

# Refusals for rules no schema states: a link's token and user must verify, a segment
# name must be audio's, a play session must exist and be the caller's, a track may be
# unavailable to this listener.
_RULE_CODES = {
    "streaming/token-malformed",
    "streaming/token-bad-signature",
    "streaming/token-unknown-key",
    "streaming/token-expired",
    "streaming/invalid-segment-name",
    "streaming/unknown-quality",
    "streaming/session-not-found",
    "streaming/session-track",
    "streaming/track-not-found",
    "streaming/segment-not-found",
    "streaming/range-not-satisfiable",
    "validation-failed",
}


@schema.hook
def filter_failure(context: HookContext, failure: Failure, case: Case, response: Response) -> bool:
    """Keeps every failure except a schema-valid request refused, with its stable code,
    for one of the rules above (a 5xx or an undocumented refusal always stays one)."""
    if not isinstance(failure, RejectedPositiveData) or response.status_code >= 500:
        return True
    try:
        code = str(response.json().get("type", "")).removeprefix(PROBLEM_TYPE_BASE)
    except ValueError:
        return True
    if code == "validation-failed":
        # Only "started without a quality" is a rule the schema cannot state.
        errors = response.json().get("errors") or []
        return not all("quality_kbps" in str(error.get("detail", "")) for error in errors)
    return code not in _RULE_CODES


@pytest.fixture(scope="module")
def streaming_server(
    streaming_database: ScratchDatabase,
    redis_url: str,
    kafka_bootstrap: str,
    token_issuer: TokenIssuer,
    tmp_path_factory: pytest.TempPathFactory,
    hls_media: Path,
) -> Iterator[str]:
    storage = tmp_path_factory.mktemp("fuzz-storage")
    shutil.copytree(hls_media, storage / MEDIA_PREFIX)
    settings = StreamingSettings(
        env="test",
        database_url=streaming_database.primary_url,
        database_replica_url=streaming_database.replica_url,
        redis_url=redis_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        storage_url=storage.as_uri(),
        rate_limit="100000/second",
    )
    app = create_streaming_app(
        settings,
        run_workers=False,
        token_verifier=token_issuer.verifier(),
        topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
    )
    with served_in_thread(app) as base_url:
        assert httpx.get(base_url + "/openapi.json").json() == OPENAPI
        yield base_url


@pytest.fixture(scope="module")
def playable(streaming_database: ScratchDatabase) -> str:
    return str(asyncio.run(put_track(streaming_database)))


def _aim(case: Case, track_id: str) -> None:
    """Points about half the canonical track ids at the playable track, reproducibly."""
    generated = (case.path_parameters or {}).get("track_id")
    try:
        parsed = uuid.UUID(str(generated))
    except ValueError:
        return
    if str(parsed) == generated and parsed.int % 2 == 0:
        assert case.path_parameters is not None
        case.path_parameters["track_id"] = track_id


def _credentials(case: Case, token: str) -> dict[str, str] | None:
    if not case.operation.definition.raw.get("security"):
        return None
    if schema.is_security_param_negated(case):
        return None
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def fuzzer() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@schema.parametrize()
@fuzz_settings()
def test_streaming_api_conforms_to_its_openapi(
    case: Case,
    streaming_server: str,
    playable: str,
    token_issuer: TokenIssuer,
    fuzzer: requests.Session,
) -> None:
    _aim(case, playable)
    drop_framing_headers(case.headers)
    headers: Any = _credentials(case, token_issuer.token(str(uuid.uuid4())))
    case.call_and_validate(base_url=streaming_server, session=fuzzer, headers=headers)
