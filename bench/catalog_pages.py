"""Album page reads on the catalog service: the page cache against no cache, and what
routing reads to the replica costs.

The catalog app runs for real: ``uvicorn --factory spotilike.catalog.app:create_catalog_app``
in a subprocess on 127.0.0.1, with the kit server's per-request settings (no access log,
no server header). Two processes share one scratch database (migrated, dropped at the
end): *routed*, with ``SPOTILIKE_CATALOG_DATABASE_REPLICA_URL`` set to the stack's
streaming replica, and *single*, with it empty, so every read goes to the primary. Both
verify tokens against ``SPOTILIKE_CATALOG_JWKS_URL``, a tiny aiohttp server in this
process publishing the key of a ``spotilike.tools.pytest_plugin.TokenIssuer``. Kafka
points at a closed loopback port: the outbox publisher and the consumers are not on the
read path and stay idle.

One album of ``--tracks`` tracks (a genre on the album and each track, a featured artist
on every third) is created through the API with an admin token. The audio pipeline is
not running, so each track is then marked READY in the database, as its
``processing.completed`` would (the same statement as the catalog tests'), and the
tracks and the album are published through the API.

Every variant sends ``GET /catalog/albums/{id}`` from ``--clients`` aiohttp clients,
back to back, for ``--seconds``:

- A, cached: the routed app with a listener's token. Listeners' pages come from the page
  cache; the page was filled before the first run.
- B, uncached: the routed app with an admin's token. An editor's page is read straight
  from the database through ``ReadSession`` (the replica): the repository queries the
  cache's loader runs on a miss, without the cache. (A miss does more: it takes a Valkey
  lock, reads the primary and stores the page; B is a read with no cache at all.)
  ``page_cache_seconds=0`` cannot serve as "no cache": ``PageCache`` refuses a TTL that
  is not positive, so an app configured that way does not start.
- C, uncached, single engine: the single app with an admin's token: B's reads, on the
  primary, with no read-your-writes lookup.
- D, cached, anonymous (for scale): A without a token, so no signature check, denylist
  lookup or read-your-writes lookup.

All four carry the same page, every track on it published. The routed app keeps pages
for an hour (``SPOTILIKE_CATALOG_PAGE_CACHE_SECONDS=3600``, the most it allows), so the
page filled before the first run cannot expire during the bench. Each run is A B C D (a
warm-up run first, discarded); the figures are medians over ``--runs`` runs. The apps'
own counters check that each variant took the path it claims: every A and D request a
cache hit, every B request a replica read session, every C request a primary-only one.

    uv run python bench/catalog_pages.py --runs 5 [--clients 8] [--seconds 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import asyncpg
from aiohttp import web
from measure import cpu_seconds, free_port, log_tail, percentile_ms
from redis.asyncio import Redis
from redis.exceptions import RedisError
from rich.console import Console
from rich.table import Table

from spotilike.kit.migrations import drop_database, upgrade
from spotilike.tools.pytest_plugin import TokenIssuer, wait_for_replica
from spotilike.tools.stack.config import StackConfig

REPO = Path(__file__).resolve().parents[1]
MIGRATIONS = REPO / "services" / "catalog" / "migrations"
APP_FACTORY = "spotilike.catalog.app:create_catalog_app"
PAGE_NAMESPACE = "catalog-pages"
"""The page cache's namespace in an app built by the factory (no topic prefix)."""
PAGE_CACHE_SECONDS = 3600
"""The longest the settings allow: the page filled before the runs outlives the bench."""
STARTUP_TIMEOUT = 60.0
REQUEST_TIMEOUT = 30.0
PHASE_TIMEOUT = 120.0
"""No phase of one run may take longer than this; a wedged server fails the bench."""
MAX_REQUESTS_PER_PHASE = 100_000
STACK_HINT = "start the local stack first: uv run spotilike stack up"
ADMIN = ("ADMIN", "USER")
LISTENER = ("USER",)
VARIANTS = ("cached", "uncached", "uncached_single", "cached_anonymous")
LABELS = {
    "cached": "A cached (listener token)",
    "uncached": "B uncached (admin token, replica)",
    "uncached_single": "C uncached, single engine (admin token)",
    "cached_anonymous": "D cached, no token (for scale)",
}

console = Console(width=120)
_T = TypeVar("_T")


@dataclass
class Server:
    name: str
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path


@dataclass(frozen=True)
class Variant:
    name: str
    server: Server
    roles: tuple[str, ...] | None
    """The token's roles, or None for no token."""
    counter: tuple[str, dict[str, str]]
    """The app's counter that must rise by one per request of this variant."""


@dataclass
class VariantResults:
    """One variant's measurements, one entry per run."""

    requests_per_s: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    server_cpu_ms_per_request: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)


@dataclass
class Load:
    latencies: list[float]
    seconds: float
    server_cpu_s: float


async def _bounded(work: Awaitable[_T], what: str) -> _T:
    try:
        return await asyncio.wait_for(work, PHASE_TIMEOUT)
    except TimeoutError:
        raise SystemExit(f"{what} did not finish within {PHASE_TIMEOUT:.0f}s") from None


def _server_env(
    *,
    database_url: str,
    replica_url: str,
    redis_url: str,
    jwks_url: str,
    nowhere: str,
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOTILIKE_CATALOG_")}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    env.update(
        {
            "SPOTILIKE_ENV": "test",
            "SPOTILIKE_CATALOG_DATABASE_URL": database_url,
            # Empty means no replica: Database then builds the primary engine only.
            "SPOTILIKE_CATALOG_DATABASE_REPLICA_URL": replica_url,
            "SPOTILIKE_CATALOG_REDIS_URL": redis_url,
            # The outbox publisher and the consumers would otherwise join the shared
            # broker's consumer groups; none is on the read path. A closed port idles them.
            "SPOTILIKE_CATALOG_KAFKA_BOOTSTRAP_SERVERS": nowhere,
            "SPOTILIKE_CATALOG_JWKS_URL": jwks_url,
            "SPOTILIKE_CATALOG_JWT_ISSUER": TokenIssuer.issuer,
            "SPOTILIKE_CATALOG_JWT_AUDIENCE": TokenIssuer.audience,
            "SPOTILIKE_CATALOG_PAGE_CACHE_SECONDS": str(PAGE_CACHE_SECONDS),
        }
    )
    return env


def spawn_server(name: str, env: dict[str, str], log_dir: Path) -> Server:
    port = free_port()
    log_path = log_dir / f"catalog-{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                APP_FACTORY,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                # What spotilike.kit.server.serve sets: the per-request work of production.
                "--no-access-log",
                "--no-server-header",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Server(
        name=name, base_url=f"http://127.0.0.1:{port}", process=process, log_path=log_path
    )


async def wait_until_live(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise SystemExit(
                    f"the catalog app ({server.name}) exited with {server.process.returncode}:\n"
                    + log_tail(server.log_path)
                )
            try:
                async with session.get(server.base_url + "/health/live") as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(
        f"the catalog app ({server.name}) was not live within {STARTUP_TIMEOUT:.0f}s:\n"
        + log_tail(server.log_path)
    )


def stop_server(server: Server) -> None:
    if server.process.poll() is not None:
        return
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


async def serve_jwks(issuer: TokenIssuer) -> tuple[web.AppRunner, str]:
    """A JWKS endpoint on a free loopback port; returns the runner and the JWKS URL."""

    async def jwks(_request: web.Request) -> web.Response:
        return web.json_response(issuer.jwks())

    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", jwks)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/.well-known/jwks.json"


async def _call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    body: dict[str, Any] | None = None,
    expect: int = 200,
) -> dict[str, Any]:
    async with session.request(method, url, json=body, headers=headers) as response:
        answer = await response.json(content_type=None)
        if response.status != expect:
            raise SystemExit(f"{method} {url} answered {response.status}: {answer}")
    result: dict[str, Any] = answer
    return result


async def _mark_processed(primary_dsn: str, album_id: str) -> None:
    """What ``processing.completed`` does to each track of the album: READY, with renditions."""
    connection = await asyncpg.connect(primary_dsn)
    try:
        await connection.execute(
            "UPDATE tracks SET status = 'READY', duration_ms = 215000,"
            " renditions_kbps = '{96,160,320}', loudness_lufs = -9.5, gain_db = -4.5,"
            " hls_manifest_key = 'hls/' || id || '/master.m3u8' WHERE album_id = $1",
            uuid.UUID(album_id),
        )
    finally:
        await connection.close()


async def seed_album(
    session: aiohttp.ClientSession,
    base_url: str,
    issuer: TokenIssuer,
    *,
    primary_dsn: str,
    tracks: int,
    run_id: str,
) -> tuple[str, list[str]]:
    """An album of ``tracks`` published, playable tracks; returns its id and artist ids."""
    admin = issuer.headers(roles=ADMIN)
    genre = await _call(
        session,
        "POST",
        base_url + "/catalog/genres",
        headers=admin,
        body={"name": f"Bench Pop {run_id}"},
        expect=201,
    )
    artist = await _call(
        session,
        "POST",
        base_url + "/catalog/artists",
        headers=admin,
        body={"name": f"Bench Artist {run_id}", "bio": "Benchmarks, mostly.", "country": "SE"},
        expect=201,
    )
    featured = await _call(
        session,
        "POST",
        base_url + "/catalog/artists",
        headers=admin,
        body={"name": f"Bench Guest {run_id}"},
        expect=201,
    )
    album = await _call(
        session,
        "POST",
        base_url + "/catalog/albums",
        headers=admin,
        body={
            "artist_id": artist["id"],
            "title": f"Bench Album {run_id}",
            "release_date": "2026-06-05",
            "label": "Loopback Records",
            "genre_ids": [genre["id"]],
        },
        expect=201,
    )
    track_ids = []
    for number in range(1, tracks + 1):
        track = await _call(
            session,
            "POST",
            base_url + "/catalog/tracks",
            headers=admin,
            body={
                "album_id": album["id"],
                "title": f"Bench Track {number}",
                "track_number": number,
                "isrc": f"SEBNC26{number:05d}",
                "genre_ids": [genre["id"]],
                "featured_artist_ids": [featured["id"]] if number % 3 == 0 else [],
            },
            expect=201,
        )
        track_ids.append(track["id"])
    await _mark_processed(primary_dsn, album["id"])
    for track_id in track_ids:
        await _call(session, "POST", f"{base_url}/catalog/tracks/{track_id}/publish", headers=admin)
    await _call(session, "POST", f"{base_url}/catalog/albums/{album['id']}/publish", headers=admin)
    return album["id"], [artist["id"], featured["id"]]


async def _metric(
    session: aiohttp.ClientSession, server: Server, name: str, **labels: str
) -> float:
    """One sample of the app's Prometheus exposition (0 when absent)."""
    async with session.get(server.base_url + "/metrics") as response:
        text = await response.text()
    wanted = [f'{key}="{value}"' for key, value in labels.items()]
    for line in text.splitlines():
        if line.startswith(name + "{") and all(label in line for label in wanted):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def _check_page(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], tracks: int
) -> int:
    """The size of the page's body, once it shows every track."""
    async with session.get(url, headers=headers) as response:
        body = await response.read()
        if response.status != 200:
            raise SystemExit(f"GET {url} answered {response.status}: {body[:500]!r}")
    shown = len(json.loads(body).get("tracks", []))
    if shown != tracks:
        raise SystemExit(f"GET {url} shows {shown} tracks, not {tracks}")
    return len(body)


async def page_load(
    session: aiohttp.ClientSession,
    server: Server,
    url: str,
    headers: dict[str, str],
    *,
    clients: int,
    seconds: float,
) -> Load:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < deadline and len(latencies) < MAX_REQUESTS_PER_PHASE:
            started = time.perf_counter()
            async with session.get(url, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise SystemExit(f"GET {url} answered {response.status}")
            latencies.append(time.perf_counter() - started)

    cpu_before = cpu_seconds(server.process.pid)
    started = time.perf_counter()
    await _bounded(asyncio.gather(*(client() for _ in range(clients))), f"the load on {url}")
    elapsed = time.perf_counter() - started
    return Load(latencies, elapsed, cpu_seconds(server.process.pid) - cpu_before)


async def measure(
    session: aiohttp.ClientSession,
    variant: Variant,
    issuer: TokenIssuer,
    args: argparse.Namespace,
    *,
    album_id: str,
    results: VariantResults | None,
) -> str:
    """One phase of ``variant``; records it unless ``results`` is None (warm-up)."""
    url = f"{variant.server.base_url}/catalog/albums/{album_id}"
    # A fresh subject per phase: one that never wrote, so its reads may use the replica.
    headers = issuer.headers(roles=variant.roles) if variant.roles is not None else {}
    await _check_page(session, url, headers, args.tracks)
    counter, labels = variant.counter
    before = await _metric(session, variant.server, counter, **labels)
    load = await page_load(
        session, variant.server, url, headers, clients=args.clients, seconds=args.seconds
    )
    counted = await _metric(session, variant.server, counter, **labels) - before
    if counted != len(load.latencies):
        raise SystemExit(
            f"{variant.name}: {counter}{labels} rose by {counted:.0f} for "
            f"{len(load.latencies)} requests; the variant did not take the path it claims"
        )
    rate = len(load.latencies) / load.seconds
    p50 = percentile_ms(load.latencies, 50)
    p99 = percentile_ms(load.latencies, 99)
    cpu_ms = load.server_cpu_s * 1000 / len(load.latencies)
    if results is not None:
        results.requests_per_s.append(rate)
        results.p50_ms.append(p50)
        results.p99_ms.append(p99)
        results.server_cpu_ms_per_request.append(cpu_ms)
        results.requests.append(len(load.latencies))
    return (
        f"{variant.name}: {rate:.0f}/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"server CPU {cpu_ms:.2f} ms/request"
    )


async def _check_stack(admin_dsn: str, redis_url: str) -> None:
    try:
        connection = await asyncpg.connect(admin_dsn, timeout=10)
        await connection.close()
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise SystemExit(f"cannot reach PostgreSQL at {admin_dsn} ({exc}); {STACK_HINT}") from None
    redis = Redis.from_url(redis_url, socket_timeout=5)
    try:
        await redis.ping()
    except (RedisError, OSError) as exc:
        raise SystemExit(f"cannot reach Valkey at {redis_url} ({exc}); {STACK_HINT}") from None
    finally:
        await redis.aclose()


async def _forget_pages(redis_url: str, album_id: str | None, artist_ids: list[str]) -> None:
    """Deletes the bench's page cache entries; every app that could race a fill is stopped."""
    keys = [f"cache:{PAGE_NAMESPACE}:artist:{artist_id}" for artist_id in artist_ids]
    if album_id is not None:
        keys.append(f"cache:{PAGE_NAMESPACE}:album:{album_id}")
    if not keys:
        return
    redis = Redis.from_url(redis_url, socket_timeout=5)
    try:
        await redis.delete(*keys)
    finally:
        await redis.aclose()


async def bench(args: argparse.Namespace) -> dict[str, VariantResults]:
    endpoints = StackConfig.from_env().endpoints
    await _check_stack(endpoints.postgres_dsn, endpoints.redis_url)
    run_id = uuid.uuid4().hex[:10]
    db_name = f"bench_catalog_{run_id}"
    primary_dsn = endpoints.postgres_dsn.rsplit("/", 1)[0] + "/" + db_name
    replica_dsn = endpoints.postgres_replica_dsn.rsplit("/", 1)[0] + "/" + db_name
    database_url = primary_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    replica_url = replica_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    issuer = TokenIssuer()
    results = {name: VariantResults() for name in VARIANTS}
    servers: list[Server] = []
    album_id: str | None = None
    artist_ids: list[str] = []
    jwks_runner, jwks_url = await serve_jwks(issuer)
    try:
        await asyncio.to_thread(upgrade, MIGRATIONS, database_url)
        await wait_for_replica(endpoints.postgres_dsn, endpoints.postgres_replica_dsn)
        log_dir = Path(tempfile.mkdtemp(prefix="bench-catalog-"))
        nowhere = f"127.0.0.1:{free_port()}"
        common = {
            "database_url": database_url,
            "redis_url": endpoints.redis_url,
            "jwks_url": jwks_url,
            "nowhere": nowhere,
        }
        try:
            routed = spawn_server("routed", _server_env(replica_url=replica_url, **common), log_dir)
            servers.append(routed)
            single = spawn_server("single", _server_env(replica_url="", **common), log_dir)
            servers.append(single)
            for server in servers:
                await wait_until_live(server)
            console.print(f"[dim]catalog apps up (logs in {log_dir}); seeding the album[/dim]")
            application = {"application": "spotilike-catalog"}
            variants = [
                Variant(
                    "cached",
                    routed,
                    LISTENER,
                    ("spotilike_cache_hits_total", {"namespace": PAGE_NAMESPACE}),
                ),
                Variant(
                    "uncached",
                    routed,
                    ADMIN,
                    ("spotilike_db_read_sessions_total", {**application, "target": "replica"}),
                ),
                Variant(
                    "uncached_single",
                    single,
                    ADMIN,
                    (
                        "spotilike_db_read_sessions_total",
                        {**application, "target": "primary-only"},
                    ),
                ),
                Variant(
                    "cached_anonymous",
                    routed,
                    None,
                    ("spotilike_cache_hits_total", {"namespace": PAGE_NAMESPACE}),
                ),
            ]
            async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=args.clients),
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
            ) as session:
                seeded_album, artist_ids = await _bounded(
                    seed_album(
                        session,
                        routed.base_url,
                        issuer,
                        primary_dsn=primary_dsn,
                        tracks=args.tracks,
                        run_id=run_id,
                    ),
                    "seeding the album",
                )
                album_id = seeded_album
                size = await _check_page(
                    session,
                    f"{routed.base_url}/catalog/albums/{seeded_album}",
                    issuer.headers(roles=LISTENER),
                    args.tracks,
                )
                console.print(f"[dim]album page: {args.tracks} tracks, {size:,} bytes[/dim]")
                await wait_for_replica(endpoints.postgres_dsn, endpoints.postgres_replica_dsn)
                console.print("[dim]warm-up run, not counted[/dim]")
                for variant in variants:
                    line = await measure(
                        session, variant, issuer, args, album_id=seeded_album, results=None
                    )
                    console.print(f"[dim]  {line}[/dim]")
                for run in range(1, args.runs + 1):
                    console.print(f"run {run}/{args.runs}")
                    for variant in variants:
                        line = await measure(
                            session,
                            variant,
                            issuer,
                            args,
                            album_id=seeded_album,
                            results=results[variant.name],
                        )
                        console.print(f"  {line}")
        finally:
            for server in servers:
                stop_server(server)
        # Kept when the bench fails: the path was printed, and the apps' errors are there.
        shutil.rmtree(log_dir, ignore_errors=True)
    finally:
        await jwks_runner.cleanup()
        await _forget_pages(endpoints.redis_url, album_id, artist_ids)
        await drop_database(database_url)
    return results


def summarise(results: dict[str, VariantResults], args: argparse.Namespace) -> dict[str, object]:
    medians = {
        name: {metric: statistics.median(values) for metric, values in vars(r).items()}
        for name, r in results.items()
    }
    cached, uncached, single = medians["cached"], medians["uncached"], medians["uncached_single"]
    ratios = {
        "cache_throughput_gain": cached["requests_per_s"] / uncached["requests_per_s"],
        "cache_p50_ratio": cached["p50_ms"] / uncached["p50_ms"],
        "cache_p99_ratio": cached["p99_ms"] / uncached["p99_ms"],
        "cache_cpu_ratio": (
            cached["server_cpu_ms_per_request"] / uncached["server_cpu_ms_per_request"]
        ),
        "routed_to_single_throughput": uncached["requests_per_s"] / single["requests_per_s"],
        "routed_to_single_p50": uncached["p50_ms"] / single["p50_ms"],
        "routed_to_single_p99": uncached["p99_ms"] / single["p99_ms"],
        "routed_to_single_cpu": (
            uncached["server_cpu_ms_per_request"] / single["server_cpu_ms_per_request"]
        ),
    }
    conditions = (
        f"{args.tracks}-track album, {args.clients} clients, {args.seconds:g} s per phase, "
        f"median of {args.runs} runs"
    )
    table = Table(title=f"GET /catalog/albums/{{id}} ({conditions})")
    for column in ("variant", "requests/s", "p50 ms", "p99 ms", "server CPU ms/request"):
        table.add_column(column, justify="right")
    for name in VARIANTS:
        m = medians[name]
        table.add_row(
            LABELS[name],
            f"{m['requests_per_s']:.0f}",
            f"{m['p50_ms']:.2f}",
            f"{m['p99_ms']:.2f}",
            f"{m['server_cpu_ms_per_request']:.2f}",
        )
    console.print(table)
    console.print(
        f"cache (A against B): throughput x{ratios['cache_throughput_gain']:.2f}, "
        f"p50 x{ratios['cache_p50_ratio']:.2f}, p99 x{ratios['cache_p99_ratio']:.2f}, "
        f"server CPU x{ratios['cache_cpu_ratio']:.2f}"
    )
    console.print(
        f"replica routing (B against C): throughput x{ratios['routed_to_single_throughput']:.2f}, "
        f"p50 x{ratios['routed_to_single_p50']:.2f}, p99 x{ratios['routed_to_single_p99']:.2f}, "
        f"server CPU x{ratios['routed_to_single_cpu']:.2f}"
    )
    command = "uv run python " + " ".join(sys.argv)
    console.print(f"command: {command}")
    return {
        "benchmark": "catalog_pages",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
        },
        "versions": {
            name: version(name)
            for name in ("uvicorn", "fastapi", "sqlalchemy", "asyncpg", "redis", "aiohttp")
        },
        "config": {
            "tracks": args.tracks,
            "clients": args.clients,
            "seconds": args.seconds,
            "runs": args.runs,
        },
        "per_run": {name: vars(r) for name, r in results.items()},
        "medians": medians,
        "ratios": ratios,
        "command": command,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, default=12, help="tracks on the album page")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients per phase")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one phase")
    parser.add_argument("--runs", type=int, default=5, help="measured runs (>= 1)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    if min(args.tracks, args.clients, args.runs) < 1 or args.seconds <= 0:
        parser.error("--tracks, --clients, --runs and --seconds must be positive")
    if args.tracks > 999:
        parser.error("--tracks is at most 999, the highest track number")
    summary = summarise(asyncio.run(bench(args)), args)
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
        console.print(f"[dim]results written to {args.json}[/dim]")


if __name__ == "__main__":
    main()
