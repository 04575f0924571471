"""The streaming service's play path: time to first audio and segment throughput, against
nginx serving the same files statically.

The streaming app runs for real: ``uvicorn --factory
spotilike.streaming.app:create_streaming_app`` in a subprocess on 127.0.0.1, one process,
with the kit server's per-request settings (``--no-access-log``, ``--no-server-header``;
the kit's logging set-up turns uvicorn's access log back on, as it does under
``spotilike.kit.server.serve``: see docs/benchmarks.md). It verifies
bearer tokens against ``SPOTILIKE_STREAMING_JWKS_URL``, a tiny aiohttp server in this
process publishing the key of a ``spotilike.tools.pytest_plugin.TokenIssuer``; the kit's
denylist check in Valkey stays on. Its rights come from a scratch database (migrated with
the service's migrations, dropped at the end): one ``playable_tracks`` row, READY and
published, and one ``listeners`` row (320 kbps allowed) per bench user. Kafka points at a
closed loopback port: the outbox publisher and the projection consumers are not on the
play path and stay idle. The per-user rate limit stays on, as it is part of every
request, but at ``--rate-limit`` (100000/second) so that it never refuses the bench.

The media is real: ``--media-seconds`` of a sine made into three AAC renditions of
6-second MPEG-TS segments with the FFmpeg commands of the streaming tests
(``streaming_support.make_hls_set``, without the download file), under
``tracks/bench/versions/v1/`` of a scratch storage folder (``file://``).

The reference is Debian's nginx (installed by ``bench/nginx.py`` when missing), one
worker, serving that same folder at ``/stream/<track>/``: the same three requests per
listener for the same bytes, except that the streaming service's playlists carry
``?u=..&t=..`` on every URI.

Both are measured with the same aiohttp client code:

- **Time to first audio:** a listener is a new client session (a new connection) that
  sends ``GET master.m3u8`` with its bearer token, follows the first variant (where an
  HLS player starts: 96 kbps) to its media playlist, and reads the first segment; the
  time runs from sending the master request to holding the whole segment. At each of
  ``--levels`` concurrencies (1, 10, 50), that many workers start listeners back to
  back until max(``--listens``, 4 x level) listeners have played; every listener is a
  different user, so each master request misses the service's sub-second rights cache
  as a first play would. p50/p99 over the listeners of a run.
- **Segment throughput:** ``--clients`` clients, one user and one keep-alive connection
  each, fetch the 320 kbps media playlist once and then its segments in a loop, back to
  back, for ``--seconds``; MB/s of segment bodies (1 MB = 10^6 bytes).

Each run is, for every level, nginx then streaming, and then the throughput of nginx then
streaming (A B A B); a warm-up run comes first and is not counted. The figures are
medians over ``--runs`` runs, and every ratio is streaming over nginx. Server CPU is
read from ``/proc`` (the uvicorn process; nginx's master and worker), client CPU is this
process's.

A request that does not answer 200 is counted against its side and left out of the
timings; the failures are printed with the results, the app's log is kept, and the
script exits non-zero. A wrong body (not the stored bytes) stops the bench at once.

    uv run python bench/streaming_playback.py --runs 5 [--seconds 5] [--clients 8] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar
from urllib.parse import urljoin

import aiohttp
import asyncpg
import imageio_ffmpeg
from aiohttp import web
from measure import cpu_seconds, free_port, log_tail, percentile_ms
from nginx import ensure_nginx, nginx_static
from redis.asyncio import Redis
from redis.exceptions import RedisError
from rich.console import Console
from rich.table import Table
from yarl import URL

from spotilike.kit.migrations import drop_database, upgrade
from spotilike.tools.pytest_plugin import TokenIssuer
from spotilike.tools.stack.config import StackConfig

REPO = Path(__file__).resolve().parents[1]
MIGRATIONS = REPO / "services" / "streaming" / "migrations"
APP_FACTORY = "spotilike.streaming.app:create_streaming_app"
MEDIA_PREFIX = "tracks/bench/versions/v1"
QUALITIES = (96, 160, 320)
THROUGHPUT_QUALITY = 320
"""The largest segments: the throughput phase measures bytes, not requests."""
STARTUP_TIMEOUT = 60.0
REQUEST_TIMEOUT = 30.0
PHASE_TIMEOUT = 180.0
"""No phase of one run may take longer than this; a wedged server fails the bench."""
MAX_SEGMENTS_PER_PHASE = 200_000
STACK_HINT = "start the local stack first: uv run spotilike stack up"
SIDES = ("nginx", "streaming")

console = Console(width=120)
_T = TypeVar("_T")


class RequestFailed(Exception):  # noqa: N818 - names what happened, like the others here
    """A request that did not answer 200: counted against its side, never timed."""


@dataclass(frozen=True)
class Target:
    name: str
    base_url: str
    cpu_seconds: Callable[[], float]
    """The server's CPU time so far (user + system, every process and thread)."""


@dataclass
class Listens:
    latencies: list[float]
    failures: list[str]
    seconds: float
    server_cpu_s: float
    client_cpu_s: float


@dataclass
class Transfer:
    bytes: int
    segments: int
    failures: list[str]
    seconds: float
    server_cpu_s: float
    client_cpu_s: float


@dataclass
class LevelResults:
    """One side at one concurrency, one entry per run."""

    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    listens_per_s: list[float] = field(default_factory=list)
    server_cpu_ms_per_listen: list[float] = field(default_factory=list)
    client_cpu_share: list[float] = field(default_factory=list)
    failed_listens: list[int] = field(default_factory=list)


@dataclass
class ThroughputResults:
    mb_per_s: list[float] = field(default_factory=list)
    segments_per_s: list[float] = field(default_factory=list)
    server_cpu_ms_per_mb: list[float] = field(default_factory=list)
    client_cpu_share: list[float] = field(default_factory=list)
    failed_requests: list[int] = field(default_factory=list)


@dataclass
class SideResults:
    levels: dict[int, LevelResults]
    throughput: ThroughputResults = field(default_factory=ThroughputResults)
    failure_samples: list[str] = field(default_factory=list)
    """The first few failed requests, as the client saw them."""


@dataclass(frozen=True)
class Media:
    root: Path
    """The storage root (``SPOTILIKE_STREAMING_STORAGE_URL``)."""
    folder: Path
    """``root/MEDIA_PREFIX``: master.m3u8 and one folder per rendition."""
    first_segment: bytes
    """The first variant's first segment, what a listener must end up holding."""
    segment_sizes: dict[str, int]
    """``<kbps>/<segment name>`` to its size in bytes."""


async def _bounded(work: Awaitable[_T], what: str) -> _T:
    try:
        return await asyncio.wait_for(work, PHASE_TIMEOUT)
    except TimeoutError:
        raise SystemExit(f"{what} did not finish within {PHASE_TIMEOUT:.0f}s") from None


def _ffmpeg(*arguments: str, cwd: Path) -> None:
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error",
         "-y", *arguments],
        check=True,
        timeout=600,
        cwd=cwd,
    )  # fmt: skip


def make_media(root: Path, seconds: float) -> Media:
    """The renditions and master of ``streaming_support.make_hls_set``, ``seconds`` long."""
    folder = root / MEDIA_PREFIX
    folder.mkdir(parents=True)
    source = ["-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds}:sample_rate=44100"]
    variants = []
    for kbps in QUALITIES:
        (folder / str(kbps)).mkdir()
        _ffmpeg(
            *source,
            "-ac", "2", "-c:a", "aac", "-b:a", f"{kbps}k",
            "-f", "hls", "-hls_time", "6", "-hls_playlist_type", "vod",
            "-hls_segment_filename", f"{kbps}/segment_%05d.ts",
            f"{kbps}/index.m3u8",
            cwd=folder,
        )  # fmt: skip
        variants.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={kbps * 1100},AVERAGE-BANDWIDTH={kbps * 1000},"
            f'CODECS="mp4a.40.2"\n{kbps}/index.m3u8\n'
        )
    (folder / "master.m3u8").write_text(
        "#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n" + "".join(variants), encoding="utf-8"
    )
    sizes = {
        f"{kbps}/{path.name}": path.stat().st_size
        for kbps in QUALITIES
        for path in sorted((folder / str(kbps)).glob("segment_*.ts"))
    }
    first = (folder / str(QUALITIES[0]) / "segment_00000.ts").read_bytes()
    return Media(root=root, folder=folder, first_segment=first, segment_sizes=sizes)


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


def _server_env(
    *, database_url: str, redis_url: str, jwks_url: str, storage_url: str, rate_limit: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOTILIKE_STREAMING_")}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    env.update(
        {
            "SPOTILIKE_ENV": "test",
            "SPOTILIKE_STREAMING_DATABASE_URL": database_url,
            # The play path reads the primary only; empty builds no replica engine.
            "SPOTILIKE_STREAMING_DATABASE_REPLICA_URL": "",
            "SPOTILIKE_STREAMING_REDIS_URL": redis_url,
            # The outbox publisher and the projection consumers would otherwise join the
            # shared broker's consumer groups; none is on the play path. A closed port
            # idles them.
            "SPOTILIKE_STREAMING_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
            "SPOTILIKE_STREAMING_JWKS_URL": jwks_url,
            "SPOTILIKE_STREAMING_JWT_ISSUER": TokenIssuer.issuer,
            "SPOTILIKE_STREAMING_JWT_AUDIENCE": TokenIssuer.audience,
            "SPOTILIKE_STREAMING_STORAGE_URL": storage_url,
            "SPOTILIKE_STREAMING_RATE_LIMIT": rate_limit,
            "SPOTILIKE_STREAMING_PLAYBACK_KEYS": json.dumps({"bench": secrets.token_urlsafe(48)}),
            "SPOTILIKE_STREAMING_PLAYBACK_KEY_CURRENT": "bench",
        }
    )
    return env


def spawn_streaming(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", APP_FACTORY,
             "--host", "127.0.0.1", "--port", str(port),
             # What spotilike.kit.server.serve sets: the per-request work of production.
             "--no-access-log", "--no-server-header"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    return process, f"http://127.0.0.1:{port}"


async def wait_until_live(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(
                    f"the streaming app exited with {process.returncode}:\n" + log_tail(log)
                )
            try:
                async with session.get(base_url + "/health/live") as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(
        f"the streaming app was not live within {STARTUP_TIMEOUT:.0f}s:\n" + log_tail(log)
    )


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


async def seed_rights(
    dsn: str, track_id: uuid.UUID, users: list[uuid.UUID], seconds: float
) -> None:
    """The projection rows the catalog's and users service's events would have written."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "INSERT INTO playable_tracks (track_id, artist_id, revision, status, published,"
            " explicit, deleted, duration_ms, hls_manifest_key, download_key)"
            " VALUES ($1, $2, 1, 'READY', true, false, false, $3, $4, NULL)",
            track_id,
            uuid.uuid4(),
            int(seconds * 1000),
            f"{MEDIA_PREFIX}/master.m3u8",
        )
        await connection.executemany(
            "INSERT INTO listeners (user_id, revision, streaming_quality_kbps,"
            " explicit_content_allowed, private_session, disabled, deleted, roles_revision,"
            " admin) VALUES ($1, 1, 320, true, false, false, false, -1, false)",
            [(user,) for user in users],
        )
    finally:
        await connection.close()


def _uri_lines(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


async def _get(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> bytes:
    # encoded=True: the URL goes out exactly as the playlist wrote it, on both sides.
    async with session.get(URL(url, encoded=True), headers=headers) as response:
        body = await response.read()
        if response.status != 200:
            path = url.partition("?")[0]
            raise RequestFailed(f"GET {path} answered {response.status}: {body[:400]!r}")
    return body


async def first_audio(
    target: Target, track_id: uuid.UUID, headers: dict[str, str]
) -> tuple[float, list[bytes]]:
    """One listener from a cold start: seconds to the first segment, and the three bodies."""
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=1),
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
        auto_decompress=False,
    ) as session:
        master_url = f"{target.base_url}/stream/{track_id}/master.m3u8"
        started = time.perf_counter()
        master = await _get(session, master_url, headers)
        media_url = urljoin(master_url, _uri_lines(master.decode())[0])
        media = await _get(session, media_url)
        segment = await _get(session, urljoin(media_url, _uri_lines(media.decode())[0]))
        elapsed = time.perf_counter() - started
    return elapsed, [master, media, segment]


async def listen_phase(
    target: Target,
    track_id: uuid.UUID,
    tokens: list[dict[str, str]],
    *,
    concurrency: int,
    expected: bytes,
) -> Listens:
    """``len(tokens)`` listeners, ``concurrency`` at a time, each with its own user."""
    latencies: list[float] = []
    failures: list[str] = []
    pending = iter(tokens)

    async def worker() -> None:
        for headers in pending:
            try:
                elapsed, bodies = await first_audio(target, track_id, headers)
            except RequestFailed as exc:
                failures.append(str(exc))
                continue
            if bodies[2] != expected:
                raise SystemExit(f"{target.name}: the first segment is not the stored one")
            latencies.append(elapsed)

    cpu_before, client_before = target.cpu_seconds(), time.process_time()
    started = time.perf_counter()
    await _bounded(
        asyncio.gather(*(worker() for _ in range(concurrency))),
        f"{target.name}: {len(tokens)} listeners at {concurrency}",
    )
    seconds = time.perf_counter() - started
    return Listens(
        latencies=latencies,
        failures=failures,
        seconds=seconds,
        server_cpu_s=target.cpu_seconds() - cpu_before,
        client_cpu_s=time.process_time() - client_before,
    )


async def throughput_phase(
    target: Target,
    track_id: uuid.UUID,
    tokens: list[dict[str, str]],
    *,
    seconds: float,
    sizes: dict[str, int],
) -> Transfer:
    """One client per token fetching 320 kbps segments back to back for ``seconds``."""
    transferred = 0
    segments = 0
    failures: list[str] = []
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=len(tokens)),
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
        auto_decompress=False,
    ) as session:
        master_url = f"{target.base_url}/stream/{track_id}/master.m3u8"
        playlists = []
        for headers in tokens:
            master = await _get(session, master_url, headers)
            variant = next(
                uri
                for uri in _uri_lines(master.decode())
                if uri.startswith(f"{THROUGHPUT_QUALITY}/")
            )
            media_url = urljoin(master_url, variant)
            media = await _get(session, media_url)
            playlists.append([urljoin(media_url, uri) for uri in _uri_lines(media.decode())])

        async def client(urls: list[str]) -> None:
            nonlocal transferred, segments
            index = 0
            while time.perf_counter() < deadline and segments < MAX_SEGMENTS_PER_PHASE:
                url = urls[index % len(urls)]
                index += 1
                try:
                    body = await _get(session, url)
                except RequestFailed as exc:
                    failures.append(str(exc))
                    continue
                name = f"{THROUGHPUT_QUALITY}/" + url.rsplit("/", 1)[1].partition("?")[0]
                if len(body) != sizes[name]:
                    raise SystemExit(f"{target.name}: {name} came back with {len(body)} bytes")
                transferred += len(body)
                segments += 1

        cpu_before, client_before = target.cpu_seconds(), time.process_time()
        started = time.perf_counter()
        deadline = started + seconds
        await _bounded(
            asyncio.gather(*(client(urls) for urls in playlists)),
            f"{target.name}: segment throughput",
        )
        elapsed = time.perf_counter() - started
    return Transfer(
        bytes=transferred,
        segments=segments,
        failures=failures,
        seconds=elapsed,
        server_cpu_s=target.cpu_seconds() - cpu_before,
        client_cpu_s=time.process_time() - client_before,
    )


async def check_same_media(
    targets: list[Target], track_id: uuid.UUID, headers: dict[str, str]
) -> None:
    """Both sides hand a listener the same variants, segments and bytes."""
    seen = {}
    for target in targets:
        _, (master, media, segment) = await first_audio(target, track_id, headers)
        seen[target.name] = (master, media, segment)
        console.print(
            f"[dim]{target.name}: master {len(master):,} B, media playlist {len(media):,} B, "
            f"first segment {len(segment):,} B[/dim]"
        )

    def paths(playlist: bytes) -> list[str]:
        return [uri.partition("?")[0] for uri in _uri_lines(playlist.decode())]

    nginx, streaming = seen["nginx"], seen["streaming"]
    if paths(nginx[0]) != paths(streaming[0]) or paths(nginx[1]) != paths(streaming[1]):
        raise SystemExit("the two sides list different variants or segments")
    if nginx[2] != streaming[2]:
        raise SystemExit("the two sides sent different first segments")


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


def _listens_at(level: int, args: argparse.Namespace) -> int:
    listens: int = args.listens
    return max(listens, 4 * level)


MAX_FAILURE_SAMPLES = 5


def _note_failures(side: SideResults, failures: list[str]) -> str:
    """Keeps the first few failures for the summary; the text to append to a run's line."""
    room = MAX_FAILURE_SAMPLES - len(side.failure_samples)
    side.failure_samples.extend(failures[: max(room, 0)])
    return f" [red]({len(failures)} failed)[/red]" if failures else ""


async def one_run(
    targets: list[Target],
    track_id: uuid.UUID,
    users: list[uuid.UUID],
    issuer: TokenIssuer,
    media: Media,
    args: argparse.Namespace,
    results: dict[str, SideResults],
    *,
    record: bool,
) -> None:
    """Every level and then the throughput, A B for each; adds to ``results`` if ``record``."""
    style = None if record else "dim"
    for level in args.levels:
        # Signed before the clock starts, and fresh each run: they last 10 minutes.
        tokens = [
            issuer.headers(str(user), roles=("USER",)) for user in users[: _listens_at(level, args)]
        ]
        line = []
        for target in targets:
            listens = await listen_phase(
                target, track_id, tokens, concurrency=level, expected=media.first_segment
            )
            if not listens.latencies:
                raise SystemExit(f"{target.name}: every listener failed: {listens.failures[0]}")
            p50, p99 = percentile_ms(listens.latencies, 50), percentile_ms(listens.latencies, 99)
            failed = _note_failures(results[target.name], listens.failures)
            line.append(f"{target.name} p50 {p50:.1f} / p99 {p99:.1f} ms{failed}")
            if record:
                row = results[target.name].levels[level]
                row.p50_ms.append(p50)
                row.p99_ms.append(p99)
                row.listens_per_s.append(len(listens.latencies) / listens.seconds)
                row.server_cpu_ms_per_listen.append(
                    listens.server_cpu_s * 1000 / len(listens.latencies)
                )
                row.client_cpu_share.append(listens.client_cpu_s / listens.seconds)
                row.failed_listens.append(len(listens.failures))
        console.print(f"  {level:>2} listeners: " + ", ".join(line), style=style)
    tokens = [issuer.headers(str(user), roles=("USER",)) for user in users[: args.clients]]
    line = []
    for target in targets:
        transfer = await throughput_phase(
            target, track_id, tokens, seconds=args.seconds, sizes=media.segment_sizes
        )
        if not transfer.segments:
            raise SystemExit(f"{target.name}: every segment request failed: {transfer.failures[0]}")
        mb_per_s = transfer.bytes / 1e6 / transfer.seconds
        per_s = transfer.segments / transfer.seconds
        failed = _note_failures(results[target.name], transfer.failures)
        line.append(f"{target.name} {mb_per_s:.1f} MB/s ({per_s:.0f} segments/s){failed}")
        if record:
            sums = results[target.name].throughput
            sums.mb_per_s.append(mb_per_s)
            sums.segments_per_s.append(per_s)
            sums.server_cpu_ms_per_mb.append(transfer.server_cpu_s * 1000 / (transfer.bytes / 1e6))
            sums.client_cpu_share.append(transfer.client_cpu_s / transfer.seconds)
            sums.failed_requests.append(len(transfer.failures))
    console.print("  throughput: " + ", ".join(line), style=style)


async def bench(args: argparse.Namespace) -> tuple[dict[str, SideResults], dict[str, object]]:
    ensure_nginx()
    endpoints = StackConfig.from_env().endpoints
    await _check_stack(endpoints.postgres_dsn, endpoints.redis_url)
    run_id = uuid.uuid4().hex[:10]
    dsn = endpoints.postgres_dsn.rsplit("/", 1)[0] + f"/bench_streaming_{run_id}"
    database_url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    issuer = TokenIssuer()
    track_id = uuid.uuid4()
    users = [
        uuid.uuid4() for _ in range(max(args.clients, *(_listens_at(c, args) for c in args.levels)))
    ]
    results = {
        side: SideResults(levels={level: LevelResults() for level in args.levels}) for side in SIDES
    }
    scratch = Path(tempfile.mkdtemp(prefix="bench-streaming-"))
    log_path = scratch / "streaming.log"
    jwks_runner, jwks_url = await serve_jwks(issuer)
    process: subprocess.Popen[bytes] | None = None
    try:
        console.print(f"[dim]making {args.media_seconds:g} s of HLS media in {scratch}[/dim]")
        media = await asyncio.to_thread(make_media, scratch / "storage", args.media_seconds)
        await asyncio.to_thread(upgrade, MIGRATIONS, database_url)
        await seed_rights(dsn, track_id, users, args.media_seconds)
        env = _server_env(
            database_url=database_url,
            redis_url=endpoints.redis_url,
            jwks_url=jwks_url,
            storage_url=media.root.as_uri(),
            rate_limit=args.rate_limit,
        )
        process, base_url = spawn_streaming(env, log_path)
        await wait_until_live(process, base_url, log_path)
        pid = process.pid
        streaming = Target("streaming", base_url, lambda: cpu_seconds(pid))
        with nginx_static(media.folder, free_port(), prefix=f"/stream/{track_id}/") as server:
            targets = [Target("nginx", server.url, server.cpu_seconds), streaming]
            await check_same_media(
                targets, track_id, issuer.headers(str(users[0]), roles=("USER",))
            )
            throughput_sizes = [
                size
                for name, size in media.segment_sizes.items()
                if name.startswith(f"{THROUGHPUT_QUALITY}/")
            ]
            segments, mean_size = len(throughput_sizes), statistics.mean(throughput_sizes)
            console.print(
                f"[dim]{THROUGHPUT_QUALITY} kbps: {segments} segments, "
                f"{mean_size / 1000:.0f} kB on average[/dim]"
            )
            console.print("[dim]warm-up run, not counted[/dim]")
            await one_run(targets, track_id, users, issuer, media, args, results, record=False)
            for run in range(1, args.runs + 1):
                console.print(f"run {run}/{args.runs}  (load average {os.getloadavg()[0]:.1f})")
                await one_run(targets, track_id, users, issuer, media, args, results, record=True)
        facts = {
            "media_seconds": args.media_seconds,
            "first_segment_bytes": len(media.first_segment),
            "throughput_segments": segments,
            "throughput_mean_segment_bytes": mean_size,
        }
    finally:
        if process is not None:
            stop_process(process)
        await jwks_runner.cleanup()
        await drop_database(database_url)
    # Kept when the bench fails, and the app's log when a request failed: its errors are there.
    if any(side.failure_samples for side in results.values()):
        shutil.rmtree(scratch / "storage", ignore_errors=True)
        console.print(f"[red]some requests failed; the streaming app's log: {log_path}[/red]")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return results, facts


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _per_run(subject: list[float], reference: list[float]) -> list[float]:
    """Subject over reference within each run: both saw the same machine load."""
    return [b / a for b, a in zip(subject, reference, strict=True)]


def summarise(
    results: dict[str, SideResults], facts: dict[str, object], args: argparse.Namespace
) -> dict[str, object]:
    nginx, streaming = results["nginx"], results["streaming"]
    conditions = f"median of {args.runs} runs"
    table = Table(
        title=f"Time to first audio (master + media playlist + first segment), {conditions}"
    )
    for column in (
        "listeners", "side", "p50 ms", "p99 ms", "listens/s", "server CPU ms/listen",
        "client CPU", "failed", "p50 ratio", "p99 ratio",
    ):  # fmt: skip
        table.add_column(column, justify="right")
    ratios: dict[str, float] = {}
    per_run: dict[str, list[float]] = {}
    for level in args.levels:
        a, b = nginx.levels[level], streaming.levels[level]
        ratios[f"p50_{level}"] = _median(b.p50_ms) / _median(a.p50_ms)
        ratios[f"p99_{level}"] = _median(b.p99_ms) / _median(a.p99_ms)
        per_run[f"p50_{level}"] = _per_run(b.p50_ms, a.p50_ms)
        per_run[f"p99_{level}"] = _per_run(b.p99_ms, a.p99_ms)
        for name, row in (("nginx", a), ("streaming", b)):
            is_b = name == "streaming"
            table.add_row(
                str(level),
                name,
                f"{_median(row.p50_ms):.2f}",
                f"{_median(row.p99_ms):.2f}",
                f"{_median(row.listens_per_s):.0f}",
                f"{_median(row.server_cpu_ms_per_listen):.2f}",
                f"{_median(row.client_cpu_share):.0%}",
                f"{sum(row.failed_listens)}",
                f"{ratios[f'p50_{level}']:.2f}" if is_b else "1.00",
                f"{ratios[f'p99_{level}']:.2f}" if is_b else "1.00",
            )
    console.print(table)
    ta, tb = nginx.throughput, streaming.throughput
    ratios["throughput"] = _median(tb.mb_per_s) / _median(ta.mb_per_s)
    ratios["server_cpu_per_mb"] = _median(tb.server_cpu_ms_per_mb) / _median(
        ta.server_cpu_ms_per_mb
    )
    per_run["throughput"] = _per_run(tb.mb_per_s, ta.mb_per_s)
    table = Table(
        title=f"Segment throughput, {args.clients} clients, {args.seconds:g} s, "
        f"{THROUGHPUT_QUALITY} kbps segments, {conditions}"
    )
    for column in (
        "side", "MB/s", "segments/s", "server CPU ms/MB", "client CPU", "failed", "ratio",
    ):  # fmt: skip
        table.add_column(column, justify="right")
    for name, sums in (("nginx", ta), ("streaming", tb)):
        table.add_row(
            name,
            f"{_median(sums.mb_per_s):.1f}",
            f"{_median(sums.segments_per_s):.0f}",
            f"{_median(sums.server_cpu_ms_per_mb):.2f}",
            f"{_median(sums.client_cpu_share):.0%}",
            f"{sum(sums.failed_requests)}",
            f"{ratios['throughput']:.2f}" if name == "streaming" else "1.00",
        )
    console.print(table)
    console.print(
        "median of the per-run ratios: "
        + ", ".join(f"{name} {_median(values):.2f}" for name, values in per_run.items())
    )
    failures = {side: r.failure_samples for side, r in results.items() if r.failure_samples}
    for side, samples in failures.items():
        console.print(
            f"[red]{side}: failed requests (first {len(samples)}, warm-up included):[/red]"
        )
        for sample in samples:
            console.print(f"  {sample}", markup=False)
    command = "uv run python " + " ".join(sys.argv)
    console.print(f"command: {command}")
    return {
        "benchmark": "streaming_playback",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
        },
        "versions": {
            "nginx": subprocess.run(
                [ensure_nginx(), "-v"], capture_output=True, text=True, check=False
            ).stderr.strip(),
            **{
                name: version(name)
                for name in ("uvicorn", "uvloop", "httptools", "fastapi", "aiohttp", "m3u8")
            },
        },
        "config": {
            "levels": args.levels,
            "listens": {level: _listens_at(level, args) for level in args.levels},
            "clients": args.clients,
            "seconds": args.seconds,
            "runs": args.runs,
            "rate_limit": args.rate_limit,
            **facts,
        },
        "per_run": {
            side: {
                "levels": {level: vars(row) for level, row in r.levels.items()},
                "throughput": vars(r.throughput),
            }
            for side, r in results.items()
        },
        "ratios": ratios,
        "per_run_ratios": per_run,
        "failure_samples": failures,
        "command": command,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs (>= 1)")
    parser.add_argument(
        "--levels",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1, 10, 50],
        help="concurrent listeners, comma-separated",
    )
    parser.add_argument(
        "--listens", type=int, default=100, help="listeners per level and run (at least 4 x level)"
    )
    parser.add_argument("--clients", type=int, default=8, help="clients of the throughput phase")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the throughput phase")
    parser.add_argument("--media-seconds", type=float, default=180.0, help="length of the track")
    parser.add_argument(
        "--rate-limit", default="100000/second", help="the service's per-user limit (kept on)"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    if min(args.runs, args.listens, args.clients, *args.levels) < 1 or args.seconds <= 0:
        parser.error("--runs, --levels, --listens, --clients and --seconds must be positive")
    if not 6 <= args.media_seconds <= 1200:
        parser.error("--media-seconds is between 6 and 1200")
    try:
        results, facts = asyncio.run(bench(args))
    except RequestFailed as exc:
        raise SystemExit(f"a set-up request failed: {exc}") from None
    summary = summarise(results, facts, args)
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
        console.print(f"[dim]results written to {args.json}[/dim]")
    if summary["failure_samples"]:
        # The figures stand for the requests that succeeded; a failure is a finding.
        raise SystemExit("some requests failed: see above")


if __name__ == "__main__":
    main()
