"""Login throughput of the users service, and what its hashing cap does to other requests.

The users app runs for real: ``uvicorn --factory spotilike.users.app:create_users_app`` in
a subprocess on 127.0.0.1, one process per ``SPOTILIKE_USERS_HASHING_CONCURRENCY`` value
under test, all on one scratch database (migrated, dropped at the end). ``--users``
accounts are registered through ``POST /auth/register`` first. Risk and throttle limits
are raised out of the way, and Kafka and Stripe point at a closed loopback port, so the
app's background workers stay idle (they are not on the login path).

A (reference): bare argon2-cffi ``PasswordHasher.verify`` with the service's parameters,
in a thread pool with as many threads as the cap, for ``--seconds``. (The service hashes
in asyncio's default executor, which has min(32, CPUs + 4) threads, so a cap above that
behaves like that number.)
B (service): ``--clients`` aiohttp clients each loop GET /auth/form-token + POST
/auth/login for ``--seconds``, while one more client sends GET ``--probe-path`` one at a
time. Before that, the probe runs alone for ``--probe-seconds``. The server's CPU time
during the load (all threads, and the event-loop thread alone, from /proc) is divided by
the sign-ins, after taking off what the probe requests cost when measured alone.

Each run is A B for every cap in turn (a warm-up run first, discarded). The figures are
medians over ``--runs`` runs: logins/s against bare verifies/s, and the probe's p50/p99
under the login load against the probe alone.

    uv run python bench/users_login.py --runs 5 [--caps 1,2,16] [--clients 8] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

import aiohttp
import argon2
import asyncpg
from redis.asyncio import Redis
from redis.exceptions import RedisError
from rich.console import Console
from rich.table import Table

from spotilike.kit.migrations import drop_database, upgrade
from spotilike.tools.pytest_plugin import wait_for_replica
from spotilike.tools.stack.config import StackConfig
from spotilike.users.settings import UsersSettings

REPO = Path(__file__).resolve().parents[1]
MIGRATIONS = REPO / "services" / "users" / "migrations"
APP_FACTORY = "spotilike.users.app:create_users_app"
BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/142.0.0.0 Safari/537.36"
)
PASSWORD = "correct horse battery staple"
UNTHROTTLED = "1000000"
"""Every risk and throttle limit: one address and a handful of accounts log in nonstop here."""
STARTUP_TIMEOUT = 60.0
REQUEST_TIMEOUT = 30.0
PHASE_TIMEOUT = 120.0
"""No phase of one run may take longer than this; a wedged server fails the bench."""
MAX_PROBES = 20_000
MAX_LOGINS_PER_RUN = 5_000
STACK_HINT = "start the local stack first: uv run spotilike stack up"

console = Console(width=120)
_T = TypeVar("_T")


@dataclass(frozen=True)
class Account:
    email: str
    fingerprint: str


@dataclass
class Server:
    cap: int
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path


@dataclass
class CapResults:
    """One cap's measurements, one entry per run."""

    reference_per_s: list[float] = field(default_factory=list)
    logins_per_s: list[float] = field(default_factory=list)
    login_p50_ms: list[float] = field(default_factory=list)
    probe_alone_p50_ms: list[float] = field(default_factory=list)
    probe_alone_p99_ms: list[float] = field(default_factory=list)
    probe_loaded_p50_ms: list[float] = field(default_factory=list)
    probe_loaded_p99_ms: list[float] = field(default_factory=list)
    probes_loaded: list[int] = field(default_factory=list)
    reference_cpu_ms_per_verify: list[float] = field(default_factory=list)
    server_cpu_ms_per_login: list[float] = field(default_factory=list)
    loop_cpu_ms_per_login: list[float] = field(default_factory=list)


@dataclass
class LoadResult:
    logins: int
    seconds: float
    login_latencies: list[float]
    probe_latencies: list[float]
    server_cpu_s: float
    loop_cpu_s: float


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) of process ``pid`` so far: (all threads, main thread).

    The main thread runs the event loop; Argon2 runs in the other threads.
    """

    def ticks(stat_path: str) -> int:
        with open(stat_path) as stat:
            # Fields after the command name, which is in parentheses and may hold spaces.
            fields = stat.read().rpartition(")")[2].split()
        return int(fields[11]) + int(fields[12])

    per_second = os.sysconf("SC_CLK_TCK")
    total = ticks(f"/proc/{pid}/stat")
    main = ticks(f"/proc/{pid}/task/{pid}/stat")
    return total / per_second, main / per_second


def _percentile_ms(samples: list[float], percent: int) -> float:
    if len(samples) < 2:
        return samples[0] * 1000 if samples else float("nan")
    return statistics.quantiles(samples, n=100, method="inclusive")[percent - 1] * 1000


async def _bounded(work: Awaitable[_T], what: str) -> _T:
    try:
        return await asyncio.wait_for(work, PHASE_TIMEOUT)
    except TimeoutError:
        raise SystemExit(f"{what} did not finish within {PHASE_TIMEOUT:.0f}s") from None


def _server_env(
    *, cap: int, database_url: str, replica_url: str, redis_url: str, nowhere: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOTILIKE_USERS_")}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    env.update(
        {
            "SPOTILIKE_ENV": "test",
            "SPOTILIKE_USERS_DATABASE_URL": database_url,
            "SPOTILIKE_USERS_DATABASE_REPLICA_URL": replica_url,
            "SPOTILIKE_USERS_REDIS_URL": redis_url,
            # The app's outbox publisher and Stripe consumer would otherwise join the
            # shared broker's consumer group and publish scratch users to shared topics;
            # neither is on the login path. A closed loopback port keeps them idle.
            "SPOTILIKE_USERS_KAFKA_BOOTSTRAP_SERVERS": nowhere,
            "SPOTILIKE_USERS_STRIPE_API_BASE": f"http://{nowhere}",
            "SPOTILIKE_USERS_HASHING_CONCURRENCY": str(cap),
            "SPOTILIKE_USERS_RISK_MIN_FORM_FILL_SECONDS": "0",
            "SPOTILIKE_USERS_RISK_IP_REGISTRATIONS_PER_HOUR": UNTHROTTLED,
            "SPOTILIKE_USERS_RISK_FINGERPRINT_REGISTRATIONS_PER_HOUR": UNTHROTTLED,
            "SPOTILIKE_USERS_RISK_DOMAIN_REGISTRATIONS_PER_HOUR": UNTHROTTLED,
            "SPOTILIKE_USERS_RISK_IP_LOGINS_PER_MINUTE": UNTHROTTLED,
            "SPOTILIKE_USERS_LOGIN_FAILURES_PER_IP": UNTHROTTLED,
            "SPOTILIKE_USERS_LOGIN_FAILURES_PER_ACCOUNT": UNTHROTTLED,
        }
    )
    return env


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def spawn_server(cap: int, env: dict[str, str], log_dir: Path) -> Server:
    port = _free_port()
    log_path = log_dir / f"users-cap{cap}.log"
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
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Server(cap=cap, base_url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)


async def wait_until_live(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise SystemExit(
                    f"the users app (cap {server.cap}) exited with {server.process.returncode}:\n"
                    + _log_tail(server.log_path)
                )
            try:
                async with session.get(server.base_url + "/health/live") as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(
        f"the users app (cap {server.cap}) was not live within {STARTUP_TIMEOUT:.0f}s:\n"
        + _log_tail(server.log_path)
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


def _client_session(source_ip: str, *, connections: int) -> aiohttp.ClientSession:
    # A scratch loopback source address keeps the bench's risk and throttle counters in
    # Valkey apart from those of anyone else on 127.0.0.1.
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections, local_addr=(source_ip, 0)),
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
        headers={"User-Agent": BROWSER_UA, "Accept-Language": "en-GB,en;q=0.8"},
    )


async def _form_token(session: aiohttp.ClientSession, base_url: str) -> str:
    async with session.get(base_url + "/auth/form-token") as response:
        body = await response.json()
        if response.status != 200:
            raise SystemExit(f"GET /auth/form-token answered {response.status}: {body}")
        token: str = body["form_token"]
        return token


async def register(session: aiohttp.ClientSession, base_url: str, account: Account) -> None:
    body = {
        "email": account.email,
        "password": PASSWORD,
        "display_name": "Bench Listener",
        "form_token": await _form_token(session, base_url),
    }
    async with session.post(
        base_url + "/auth/register",
        json=body,
        headers={"X-Device-Fingerprint": account.fingerprint},
    ) as response:
        if response.status != 201:
            raise SystemExit(f"registration answered {response.status}: {await response.text()}")


async def login(session: aiohttp.ClientSession, base_url: str, account: Account) -> float:
    """One sign-in as a browser does it; returns the seconds the POST took."""
    body = {
        "email": account.email,
        "password": PASSWORD,
        "form_token": await _form_token(session, base_url),
    }
    started = time.perf_counter()
    async with session.post(
        base_url + "/auth/login",
        json=body,
        headers={"X-Device-Fingerprint": account.fingerprint},
    ) as response:
        answer = await response.json()
        elapsed = time.perf_counter() - started
    if response.status != 200 or "access_token" not in answer:
        raise SystemExit(f"login answered {response.status}: {answer}")
    return elapsed


async def probe(
    session: aiohttp.ClientSession, url: str, *, until: asyncio.Event | None, seconds: float
) -> list[float]:
    """Sequential GETs of ``url`` until ``until`` is set (or ``seconds`` pass, alone)."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(latencies) < MAX_PROBES:
        if until is not None and until.is_set():
            break
        if until is None and time.perf_counter() >= deadline:
            break
        started = time.perf_counter()
        async with session.get(url) as response:
            await response.read()
            if response.status != 200:
                raise SystemExit(f"GET {url} answered {response.status}")
        latencies.append(time.perf_counter() - started)
    return latencies


async def login_load(
    logins: aiohttp.ClientSession,
    prober: aiohttp.ClientSession,
    server: Server,
    accounts: list[Account],
    *,
    clients: int,
    seconds: float,
    probe_url: str,
) -> LoadResult:
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    next_account = itertools.count()
    load_done = asyncio.Event()

    async def client() -> None:
        while time.perf_counter() < deadline and len(latencies) < MAX_LOGINS_PER_RUN:
            account = accounts[next(next_account) % len(accounts)]
            latencies.append(await login(logins, server.base_url, account))

    probing = asyncio.create_task(probe(prober, probe_url, until=load_done, seconds=seconds))
    cpu_before, loop_before = _cpu_seconds(server.process.pid)
    started = time.perf_counter()
    try:
        await _bounded(asyncio.gather(*(client() for _ in range(clients))), "the login load")
    finally:
        elapsed = time.perf_counter() - started
        cpu_after, loop_after = _cpu_seconds(server.process.pid)
        load_done.set()
    probe_latencies = await _bounded(probing, "the probe under load")
    return LoadResult(
        logins=len(latencies),
        seconds=elapsed,
        login_latencies=latencies,
        probe_latencies=probe_latencies,
        server_cpu_s=cpu_after - cpu_before,
        loop_cpu_s=loop_after - loop_before,
    )


def bare_verifies(
    hasher: argon2.PasswordHasher, stored_hash: str, *, threads: int, seconds: float
) -> tuple[float, float]:
    """(Verifies per second, CPU seconds per verify) of ``threads`` threads verifying nonstop."""
    deadline = time.perf_counter() + seconds

    def verify_until_deadline() -> int:
        done = 0
        while time.perf_counter() < deadline and done < MAX_LOGINS_PER_RUN:
            hasher.verify(stored_hash, PASSWORD)
            done += 1
        return done

    with ThreadPoolExecutor(max_workers=threads) as pool:
        cpu_before = time.process_time()
        started = time.perf_counter()
        counts = list(pool.map(lambda _: verify_until_deadline(), range(threads)))
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_before
    return sum(counts) / elapsed, cpu / sum(counts)


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


async def measure_cap(
    server: Server,
    accounts: list[Account],
    hasher: argon2.PasswordHasher,
    stored_hash: str,
    args: argparse.Namespace,
    *,
    source_ip: str,
    results: CapResults | None,
) -> str:
    """One A B pair for ``server.cap``; records it unless ``results`` is None (warm-up)."""
    reference, cpu_per_verify = await asyncio.to_thread(
        bare_verifies, hasher, stored_hash, threads=server.cap, seconds=args.seconds
    )
    probe_url = server.base_url + args.probe_path
    async with (
        _client_session(source_ip, connections=args.clients) as logins,
        _client_session(source_ip, connections=1) as prober,
    ):
        cpu_before, loop_before = _cpu_seconds(server.process.pid)
        alone = await _bounded(
            probe(prober, probe_url, until=None, seconds=args.probe_seconds), "the probe alone"
        )
        cpu_after, loop_after = _cpu_seconds(server.process.pid)
        load = await login_load(
            logins,
            prober,
            server,
            accounts,
            clients=args.clients,
            seconds=args.seconds,
            probe_url=probe_url,
        )
    rate = load.logins / load.seconds
    # The server also answered the probe during the load; take off what the probe cost
    # alone, so the figures are per sign-in (form token + login).
    probes = len(load.probe_latencies)
    server_cpu = load.server_cpu_s - probes * (cpu_after - cpu_before) / len(alone)
    loop_cpu = load.loop_cpu_s - probes * (loop_after - loop_before) / len(alone)
    if results is not None:
        results.reference_per_s.append(reference)
        results.logins_per_s.append(rate)
        results.login_p50_ms.append(_percentile_ms(load.login_latencies, 50))
        results.probe_alone_p50_ms.append(_percentile_ms(alone, 50))
        results.probe_alone_p99_ms.append(_percentile_ms(alone, 99))
        results.probe_loaded_p50_ms.append(_percentile_ms(load.probe_latencies, 50))
        results.probe_loaded_p99_ms.append(_percentile_ms(load.probe_latencies, 99))
        results.probes_loaded.append(len(load.probe_latencies))
        results.reference_cpu_ms_per_verify.append(cpu_per_verify * 1000)
        results.server_cpu_ms_per_login.append(server_cpu * 1000 / load.logins)
        results.loop_cpu_ms_per_login.append(loop_cpu * 1000 / load.logins)
    return (
        f"cap {server.cap}: bare {reference:.1f}/s, logins {rate:.1f}/s "
        f"(loop CPU {loop_cpu * 1000 / load.logins:.0f} ms/login), "
        f"probe p99 {_percentile_ms(alone, 99):.1f} -> "
        f"{_percentile_ms(load.probe_latencies, 99):.1f} ms"
    )


async def bench(args: argparse.Namespace) -> dict[int, CapResults]:
    endpoints = StackConfig.from_env().endpoints
    await _check_stack(endpoints.postgres_dsn, endpoints.redis_url)
    run_id = uuid.uuid4().hex[:10]
    db_name = f"bench_users_{run_id}"
    primary_dsn = endpoints.postgres_dsn.rsplit("/", 1)[0] + "/" + db_name
    replica_dsn = endpoints.postgres_replica_dsn.rsplit("/", 1)[0] + "/" + db_name
    database_url = primary_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    replica_url = replica_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    source_ip = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
    settings = UsersSettings(env="test")
    hasher = argon2.PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        type=argon2.Type.ID,
    )
    stored_hash = hasher.hash(PASSWORD)
    accounts = [
        Account(email=f"bench-{n}@{run_id}.example.org", fingerprint=secrets.token_hex(16))
        for n in range(args.users)
    ]
    results = {cap: CapResults() for cap in args.caps}
    servers: list[Server] = []
    try:
        await asyncio.to_thread(upgrade, MIGRATIONS, database_url)
        await wait_for_replica(endpoints.postgres_dsn, endpoints.postgres_replica_dsn)
        log_dir = Path(tempfile.mkdtemp(prefix="bench-users-"))
        nowhere = f"127.0.0.1:{_free_port()}"
        try:
            for cap in args.caps:
                env = _server_env(
                    cap=cap,
                    database_url=database_url,
                    replica_url=replica_url,
                    redis_url=endpoints.redis_url,
                    nowhere=nowhere,
                )
                servers.append(spawn_server(cap, env, log_dir))
            for server in servers:
                await wait_until_live(server)
            console.print(
                f"[dim]{len(servers)} users apps up (logs in {log_dir}); "
                f"registering {len(accounts)} accounts from {source_ip}[/dim]"
            )
            async with _client_session(source_ip, connections=args.clients) as session:
                pending = iter(accounts)

                async def register_some() -> None:
                    for account in pending:
                        await register(session, servers[0].base_url, account)

                await _bounded(
                    asyncio.gather(*(register_some() for _ in range(args.clients))),
                    "the registrations",
                )

            console.print("[dim]warm-up run, not counted[/dim]")
            for server in servers:
                line = await measure_cap(
                    server, accounts, hasher, stored_hash, args, source_ip=source_ip, results=None
                )
                console.print(f"[dim]  {line}[/dim]")
            for run in range(1, args.runs + 1):
                console.print(f"run {run}/{args.runs}")
                for server in servers:
                    line = await measure_cap(
                        server,
                        accounts,
                        hasher,
                        stored_hash,
                        args,
                        source_ip=source_ip,
                        results=results[server.cap],
                    )
                    console.print(f"  {line}")
        finally:
            for server in servers:
                stop_server(server)
        # Kept when the bench fails: the path was printed, and the app's errors are there.
        shutil.rmtree(log_dir, ignore_errors=True)
    finally:
        await drop_database(database_url)
    return results


def summarise(results: dict[int, CapResults], args: argparse.Namespace) -> dict[str, object]:
    medians: dict[str, dict[str, float]] = {}
    for cap, r in results.items():
        m = {name: statistics.median(values) for name, values in vars(r).items()}
        m["logins_to_bare"] = m["logins_per_s"] / m["reference_per_s"]
        m["probe_p50_ratio"] = m["probe_loaded_p50_ms"] / m["probe_alone_p50_ms"]
        m["probe_p99_ratio"] = m["probe_loaded_p99_ms"] / m["probe_alone_p99_ms"]
        medians[str(cap)] = m

    conditions = f"{args.clients} clients, {args.seconds:g}s per run, median of {args.runs} runs"
    throughput = Table(title=f"Logins vs bare Argon2 verifies ({conditions})")
    for column in (
        "hashing cap",
        "A bare verifies/s",
        "B logins/s",
        "B/A",
        "login p50 ms",
        "CPU ms/verify (bare)",
        "server CPU ms/login",
        "of which event loop",
    ):
        throughput.add_column(column, justify="right")
    probes = Table(title=f"GET {args.probe_path} one at a time, alone vs during the logins")
    for column in (
        "hashing cap",
        "p50 ms alone",
        "p50 loaded",
        "ratio",
        "p99 alone",
        "p99 loaded",
        "ratio",
        "samples loaded",
    ):
        probes.add_column(column, justify="right")
    for cap_label, m in medians.items():
        throughput.add_row(
            cap_label,
            f"{m['reference_per_s']:.1f}",
            f"{m['logins_per_s']:.1f}",
            f"{m['logins_to_bare']:.2f}",
            f"{m['login_p50_ms']:.0f}",
            f"{m['reference_cpu_ms_per_verify']:.0f}",
            f"{m['server_cpu_ms_per_login']:.0f}",
            f"{m['loop_cpu_ms_per_login']:.0f}",
        )
        probes.add_row(
            cap_label,
            f"{m['probe_alone_p50_ms']:.1f}",
            f"{m['probe_loaded_p50_ms']:.1f}",
            f"{m['probe_p50_ratio']:.1f}",
            f"{m['probe_alone_p99_ms']:.1f}",
            f"{m['probe_loaded_p99_ms']:.1f}",
            f"{m['probe_p99_ratio']:.1f}",
            f"{m['probes_loaded']:.0f}",
        )
    console.print(throughput)
    console.print(probes)
    command = "uv run python " + " ".join(sys.argv)
    console.print(f"command: {command}")
    return {
        "benchmark": "users_login",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
        },
        "versions": {
            name: version(name)
            for name in ("argon2-cffi", "argon2-cffi-bindings", "uvicorn", "fastapi", "aiohttp")
        },
        "config": {
            "caps": args.caps,
            "clients": args.clients,
            "users": args.users,
            "seconds": args.seconds,
            "probe_seconds": args.probe_seconds,
            "probe_path": args.probe_path,
            "runs": args.runs,
        },
        "per_run": {str(cap): vars(r) for cap, r in results.items()},
        "medians": medians,
        "command": command,
    }


def _caps(raw: str) -> list[int]:
    try:
        caps = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a comma-separated list of ints") from None
    if not caps or any(not 1 <= cap <= 64 for cap in caps) or len(set(caps)) != len(caps):
        raise argparse.ArgumentTypeError("caps must be distinct values between 1 and 64")
    return caps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--caps", type=_caps, default=[1, 2, 16], help="hashing caps to compare")
    parser.add_argument("--clients", type=int, default=8, help="concurrent login clients")
    parser.add_argument("--users", type=int, default=16, help="accounts the clients log in as")
    parser.add_argument("--seconds", type=float, default=4.0, help="login load per run")
    parser.add_argument("--probe-seconds", type=float, default=1.5, help="probe alone per run")
    parser.add_argument("--probe-path", default="/.well-known/jwks.json", help="cheap endpoint")
    parser.add_argument("--runs", type=int, default=5, help="measured runs (>= 1)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    if min(args.clients, args.users, args.runs) < 1 or min(args.seconds, args.probe_seconds) <= 0:
        parser.error("--clients, --users, --runs, --seconds and --probe-seconds must be positive")
    if not args.probe_path.startswith("/"):
        parser.error("--probe-path must start with /")
    summary = summarise(asyncio.run(bench(args)), args)
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
        console.print(f"[dim]results written to {args.json}[/dim]")


if __name__ == "__main__":
    main()
