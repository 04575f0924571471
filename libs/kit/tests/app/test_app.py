"""The app factory: request ids, the body cap, problem details, health and metrics."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from fastapi import APIRouter, FastAPI
from httpx import ASGITransport, AsyncClient
from pydantic import BaseModel, Field

from spotilike.kit.app import create_app
from spotilike.kit.errors import PROBLEM_CONTENT_TYPE, NotFound
from spotilike.kit.settings import ServiceSettings
from spotilike.tools.pytest_plugin import ScratchDatabase

pytestmark = pytest.mark.integration


class Track(BaseModel):
    title: str = Field(min_length=1, max_length=50)
    duration_ms: int = Field(ge=0)


def _router() -> APIRouter:
    router = APIRouter()

    @router.post("/tracks")
    async def create(track: Track) -> Track:
        return track

    @router.get("/tracks/{track_id}")
    async def read(track_id: int) -> dict[str, int]:
        if track_id == 404:
            raise NotFound(f"track {track_id} does not exist", code="catalog/track-not-found")
        return {"id": track_id}

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("database password is hunter2")

    return router


@pytest.fixture
async def client(fresh_database: ScratchDatabase, redis_url: str) -> AsyncIterator[AsyncClient]:
    settings = ServiceSettings(
        service_name="apptest",
        database_url=fresh_database.primary_url,
        database_replica_url=fresh_database.replica_url,
        redis_url=redis_url,
        log_json=False,
    )
    app = create_app(settings, title="app test", routers=[_router()], max_body_bytes=2048)
    async with _Serve(app) as http:
        yield http


class _Serve:
    def __init__(self, app: FastAPI) -> None:
        self._app = app

    async def __aenter__(self) -> AsyncClient:
        self._lifespan = self._app.router.lifespan_context(self._app)
        await self._lifespan.__aenter__()
        transport = ASGITransport(app=self._app, raise_app_exceptions=False)
        self._client = AsyncClient(transport=transport, base_url="http://test")
        return self._client

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()
        await self._lifespan.__aexit__(None, None, None)


async def test_every_response_carries_a_request_id_and_a_good_one_is_kept(
    client: AsyncClient,
) -> None:
    generated = await client.get("/tracks/1")
    assert len(generated.headers["x-request-id"]) == 32
    kept = await client.get("/tracks/1", headers={"X-Request-ID": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    replaced = await client.get("/tracks/1", headers={"X-Request-ID": "bad id\n<script>"})
    assert replaced.headers["x-request-id"] != "bad id\n<script>"


async def test_validation_errors_are_problems_with_field_pointers(client: AsyncClient) -> None:
    response = await client.post("/tracks", json={"title": "", "duration_ms": -5})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["type"].endswith("/validation-failed")
    assert {(e["in"], e["pointer"]) for e in body["errors"]} == {
        ("body", "/title"),
        ("body", "/duration_ms"),
    }


async def test_raised_problems_keep_their_code_and_status(client: AsyncClient) -> None:
    response = await client.get("/tracks/404")
    assert response.status_code == 404
    body = response.json()
    assert body["type"] == "https://spotilike.dev/problems/catalog/track-not-found"
    assert body["detail"] == "track 404 does not exist"
    assert body["instance"] == "/tracks/404"
    assert body["request_id"] == response.headers["x-request-id"]


async def test_unexpected_errors_are_generic_and_leak_nothing(client: AsyncClient) -> None:
    response = await client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_unknown_routes_are_problems_too(client: AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE


async def test_a_declared_oversized_body_is_refused_before_the_handler(client: AsyncClient) -> None:
    response = await client.post(
        "/tracks", content=b"x" * 4096, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert "2048 bytes" in response.json()["detail"]


async def test_a_chunked_oversized_body_is_refused(client: AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"y" * 1024

    response = await client.post(
        "/tracks", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_readiness_checks_the_database_and_valkey(client: AsyncClient) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert set(ready.json()["checks"]) == {"database", "redis"}


async def test_readiness_names_the_dependency_that_is_down(redis_url: str) -> None:
    settings = ServiceSettings(
        service_name="apptest-down",
        database_url="postgresql+asyncpg://spotilike@127.0.0.1:1/nothing",
        database_replica_url=None,
        redis_url=redis_url,
        log_json=False,
    )
    async with _Serve(create_app(settings, title="down")) as http:
        ready = await http.get("/health/ready")
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["database"]["ok"] is False
    assert checks["redis"]["ok"] is True


async def test_metrics_are_labelled_by_route_template(client: AsyncClient) -> None:
    await client.get("/tracks/7")
    await client.get("/tracks/8")
    metrics = (await client.get("/metrics")).text
    assert (
        'spotilike_http_requests_total{method="GET",route="/tracks/{track_id}",'
        'service="apptest",status="200"}'
    ) in metrics
    assert 'route="/tracks/7"' not in metrics


async def test_invented_methods_share_one_label(client: AsyncClient) -> None:
    for method in ("BREW", "M00001", "M00002"):
        await client.request(method, "/tracks/7")
    metrics = (await client.get("/metrics")).text
    assert 'method="OTHER",route="/tracks/{track_id}",service="apptest"' in metrics
    for method in ("BREW", "M00001", "M00002"):
        assert f'method="{method}"' not in metrics


async def test_a_burst_of_valkey_calls_waits_for_the_pool_instead_of_failing(
    redis_url: str,
) -> None:
    settings = ServiceSettings(
        service_name="apptest-burst",
        redis_url=redis_url,
        redis_pool_size=2,
        log_json=False,
    )
    app = create_app(settings, title="burst", use_database=False)
    async with _Serve(app):
        valkey = app.state.redis
        # 40 calls at once on 2 connections: each one that finds both busy waits its turn.
        answers = await asyncio.gather(*(valkey.ping() for _ in range(40)))
    assert valkey.connection_pool.max_connections == 2
    assert answers == [True] * 40


async def test_the_413_problem_is_well_formed_json_whatever_the_path(client: AsyncClient) -> None:
    response = await client.post(
        '/tracks%22%5C"', content=b"x" * 4096, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    # The path goes into the body as a JSON string, quotes and backslashes escaped.
    problem = response.json()
    assert problem["instance"].startswith('/tracks"')
    assert problem["request_id"] == response.headers["x-request-id"]
    assert response.headers["connection"] == "close"
