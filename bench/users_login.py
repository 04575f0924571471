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

Then the timing phase, on the server with the service's default cap: the service promises
that a login for an unknown email answers like one with a wrong password, same status and
body, and within ``TIMING_PROMISE_MS`` of it in median latency (the unknown path spends one
dummy Argon2 verification). One client, one request at a time so the figure is the path
and not a queue, alternates A (wrong password for a registered account) and B (an email
never registered, a new one each time) for ``--pairs`` pairs per run, ``--runs`` runs after
a warm-up; both send the same password, fingerprint and headers, and take a fresh form
token first, untimed. Every answer must be 401; status, body (minus ``request_id`` and
``instance``) and header names are compared between A and B.

    uv run python bench/users_login.py --runs 5 [--caps 1,2,16] [--clients 8] [--json out.json]
    uv run python bench/users_login.py --runs 5 --timing-only [--pairs 200]
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
from measure import free_port, log_tail, percentile_ms
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
WRONG_PASSWORD = "correct horse battery stapler"
UNTHROTTLED = "1000000"
"""Every risk and throttle limit: one address and a handful of accounts log in nonstop here."""
STARTUP_TIMEOUT = 60.0
REQUEST_TIMEOUT = 30.0
PHASE_TIMEOUT = 120.0
"""No phase of one run may take longer than this; a wedged server fails the bench."""
MAX_PROBES = 20_000
MAX_LOGINS_PER_RUN = 5_000
MAX_PAIRS = 2_000
TIMING_WARMUP_PAIRS = 20
"""Discarded; the first unknown-email login of a process also makes the dummy hash."""
TIMING_PROMISE_MS = 20.0
TIMING_RUN_TIMEOUT = 600.0
"""One timing run, ``--pairs`` sequential pairs; a wedged server fails the bench."""
VOLATILE_PROBLEM_FIELDS = ("request_id", "instance")
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


Answer = tuple[int, str, tuple[str, ...]]
"""Status, the body as canonical JSON without its volatile fields, the sorted header names."""


@dataclass
class TimingResults:
    """The timing phase: one entry per run, medians in ms; the distinct answers of all runs."""

    cap: int
    wrong_password_ms: list[float] = field(default_factory=list)
    unknown_email_ms: list[float] = field(default_factory=list)
    wrong_password_answers: set[Answer] = field(default_factory=set)
    unknown_email_answers: set[Answer] = field(default_factory=set)


@dataclass
class BenchResults:
    caps: dict[int, CapResults]
    timing: TimingResults


@dataclass
class LoadResult:
    logins: int
    seconds: float
    login_latencies: list[float]
    probe_latencies: list[float]
    server_cpu_s: float
    loop_cpu_s: float


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


async def _bounded(work: Awaitable[_T], what: str, seconds: float = PHASE_TIMEOUT) -> _T:
    try:
        return await asyncio.wait_for(work, seconds)
    except TimeoutError:
        raise SystemExit(f"{what} did not finish within {seconds:.0f}s") from None


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


def spawn_server(cap: int, env: dict[str, str], log_dir: Path) -> Server:
    port = free_port()
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
        f"the users app (cap {server.cap}) was not live within {STARTUP_TIMEOUT:.0f}s:\n"
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


async def failed_login(
    session: aiohttp.ClientSession, base_url: str, email: str, fingerprint: str
) -> tuple[float, Answer]:
    """One sign-in with ``WRONG_PASSWORD``; the seconds the POST took, and its answer."""
    body = {
        "email": email,
        "password": WRONG_PASSWORD,
        "form_token": await _form_token(session, base_url),
    }
    started = time.perf_counter()
    async with session.post(
        base_url + "/auth/login",
        json=body,
        headers={"X-Device-Fingerprint": fingerprint},
    ) as response:
        raw = await response.read()
        elapsed = time.perf_counter() - started
    if response.status != 401:
        # A 429 (lockout) or 403 (risk) here would time the refusal, not the password path.
        raise SystemExit(f"a failed login answered {response.status}: {raw[:500]!r}")
    problem = json.loads(raw)
    for name in VOLATILE_PROBLEM_FIELDS:
        problem.pop(name, None)
    header_names = tuple(sorted({name.lower() for name in response.headers}))
    return elapsed, (response.status, json.dumps(problem, sort_keys=True), header_names)


async def timing_run(
    session: aiohttp.ClientSession,
    base_url: str,
    known: Account,
    *,
    pairs: int,
    unknown_domain: str,
    results: TimingResults | None,
) -> str:
    """``pairs`` times A then B, one request at a time; records them unless ``results`` is None."""
    wrong_password: list[float] = []
    unknown_email: list[float] = []
    answers: tuple[set[Answer], set[Answer]] = (set(), set())
    for _ in range(pairs):
        elapsed, answer = await failed_login(session, base_url, known.email, known.fingerprint)
        wrong_password.append(elapsed)
        answers[0].add(answer)
        # A new address each time, so no cache anywhere holds the answer for it.
        nobody = f"nobody-{secrets.token_hex(4)}@{unknown_domain}"
        elapsed, answer = await failed_login(session, base_url, nobody, known.fingerprint)
        unknown_email.append(elapsed)
        answers[1].add(answer)
    a_ms = percentile_ms(wrong_password, 50)
    b_ms = percentile_ms(unknown_email, 50)
    if results is not None:
        results.wrong_password_ms.append(a_ms)
        results.unknown_email_ms.append(b_ms)
        results.wrong_password_answers |= answers[0]
        results.unknown_email_answers |= answers[1]
    return (
        f"A wrong password p50 {a_ms:.1f} ms, B unknown email p50 {b_ms:.1f} ms, "
        f"B-A {b_ms - a_ms:+.1f} ms, B/A {b_ms / a_ms:.3f}"
    )


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
        results.login_p50_ms.append(percentile_ms(load.login_latencies, 50))
        results.probe_alone_p50_ms.append(percentile_ms(alone, 50))
        results.probe_alone_p99_ms.append(percentile_ms(alone, 99))
        results.probe_loaded_p50_ms.append(percentile_ms(load.probe_latencies, 50))
        results.probe_loaded_p99_ms.append(percentile_ms(load.probe_latencies, 99))
        results.probes_loaded.append(len(load.probe_latencies))
        results.reference_cpu_ms_per_verify.append(cpu_per_verify * 1000)
        results.server_cpu_ms_per_login.append(server_cpu * 1000 / load.logins)
        results.loop_cpu_ms_per_login.append(loop_cpu * 1000 / load.logins)
    return (
        f"cap {server.cap}: bare {reference:.1f}/s, logins {rate:.1f}/s "
        f"(loop CPU {loop_cpu * 1000 / load.logins:.0f} ms/login), "
        f"probe p99 {percentile_ms(alone, 99):.1f} -> "
        f"{percentile_ms(load.probe_latencies, 99):.1f} ms"
    )


async def bench(args: argparse.Namespace) -> BenchResults:
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
    domain = f"{run_id}.example.org"
    caps: list[int] = [] if args.timing_only else args.caps
    accounts = [
        Account(email=f"bench-{n}@{domain}", fingerprint=secrets.token_hex(16))
        for n in range(0 if args.timing_only else args.users)
    ]
    # Its own account, so its failed logins touch none of the throughput accounts.
    timing_account = Account(email=f"bench-timing@{domain}", fingerprint=secrets.token_hex(16))
    results = BenchResults(
        caps={cap: CapResults() for cap in caps}, timing=TimingResults(cap=default_cap())
    )
    servers: dict[int, Server] = {}
    try:
        await asyncio.to_thread(upgrade, MIGRATIONS, database_url)
        await wait_for_replica(endpoints.postgres_dsn, endpoints.postgres_replica_dsn)
        log_dir = Path(tempfile.mkdtemp(prefix="bench-users-"))
        nowhere = f"127.0.0.1:{free_port()}"
        try:
            for cap in dict.fromkeys([*caps, results.timing.cap]):
                env = _server_env(
                    cap=cap,
                    database_url=database_url,
                    replica_url=replica_url,
                    redis_url=endpoints.redis_url,
                    nowhere=nowhere,
                )
                servers[cap] = spawn_server(cap, env, log_dir)
            for server in servers.values():
                await wait_until_live(server)
            console.print(
                f"[dim]{len(servers)} users apps up (logs in {log_dir}); "
                f"registering {len(accounts) + 1} accounts from {source_ip}[/dim]"
            )
            async with _client_session(source_ip, connections=args.clients) as session:
                pending = iter([*accounts, timing_account])
                first = next(iter(servers.values()))

                async def register_some() -> None:
                    for account in pending:
                        await register(session, first.base_url, account)

                await _bounded(
                    asyncio.gather(*(register_some() for _ in range(args.clients))),
                    "the registrations",
                )

            if caps:
                await measure_throughput(
                    [servers[cap] for cap in caps],
                    accounts,
                    hasher,
                    stored_hash,
                    args,
                    source_ip=source_ip,
                    results=results.caps,
                )
            await measure_timing(
                servers[results.timing.cap],
                timing_account,
                args,
                source_ip=source_ip,
                unknown_domain=domain,
                results=results.timing,
            )
        finally:
            for server in servers.values():
                stop_server(server)
        # Kept when the bench fails: the path was printed, and the app's errors are there.
        shutil.rmtree(log_dir, ignore_errors=True)
    finally:
        await drop_database(database_url)
    return results


def default_cap() -> int:
    """The service's own default ``hashing_concurrency`` on this machine (cores - 1)."""
    field_info = UsersSettings.model_fields["hashing_concurrency"]
    cap: int = field_info.get_default(call_default_factory=True)
    return cap


async def measure_throughput(
    servers: list[Server],
    accounts: list[Account],
    hasher: argon2.PasswordHasher,
    stored_hash: str,
    args: argparse.Namespace,
    *,
    source_ip: str,
    results: dict[int, CapResults],
) -> None:
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


async def measure_timing(
    server: Server,
    known: Account,
    args: argparse.Namespace,
    *,
    source_ip: str,
    unknown_domain: str,
    results: TimingResults,
) -> None:
    console.print(
        f"timing: cap {server.cap}, {args.pairs} pairs A B per run, one request at a time "
        f"[dim](warm-up of {TIMING_WARMUP_PAIRS} pairs, not counted)[/dim]"
    )
    async with _client_session(source_ip, connections=1) as session:
        await _bounded(
            timing_run(
                session,
                server.base_url,
                known,
                pairs=TIMING_WARMUP_PAIRS,
                unknown_domain=unknown_domain,
                results=None,
            ),
            "the timing warm-up",
        )
        for run in range(1, args.runs + 1):
            line = await _bounded(
                timing_run(
                    session,
                    server.base_url,
                    known,
                    pairs=args.pairs,
                    unknown_domain=unknown_domain,
                    results=results,
                ),
                f"timing run {run}",
                TIMING_RUN_TIMEOUT,
            )
            console.print(f"  run {run}/{args.runs}: {line}")


def summarise_throughput(
    results: dict[int, CapResults], args: argparse.Namespace
) -> dict[str, dict[str, float]]:
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
    return medians


def summarise_timing(timing: TimingResults, args: argparse.Namespace) -> dict[str, object]:
    """Medians over the runs of each run's p50s, and of each run's paired gap and ratio.

    The headline gap and ratio are the per-run ones, A and B measured side by side: when
    the machine's load drifts between runs, the run holding the median A need not be the
    one holding the median B, so the gap between those two medians mixes runs.
    """
    pairs = list(zip(timing.wrong_password_ms, timing.unknown_email_ms, strict=True))
    a_ms = statistics.median(timing.wrong_password_ms)
    b_ms = statistics.median(timing.unknown_email_ms)
    gap_ms = statistics.median(b - a for a, b in pairs)
    ratio = statistics.median(b / a for a, b in pairs)
    worst_gap_ms = max(abs(b - a) for a, b in pairs)
    identical = (
        len(timing.wrong_password_answers) == 1
        and timing.wrong_password_answers == timing.unknown_email_answers
    )
    table = Table(
        title=(
            f"POST /auth/login answered 401, one at a time, cap {timing.cap}: "
            f"{args.pairs} pairs A B per run, median of {args.runs} runs"
        )
    )
    for column in ("p50 ms", "A wrong password", "B unknown email", "B-A", "B/A"):
        table.add_column(column, justify="right")
    for run, (a, b) in enumerate(pairs, start=1):
        table.add_row(f"run {run}", f"{a:.1f}", f"{b:.1f}", f"{b - a:+.1f}", f"{b / a:.3f}")
    table.add_row("median", f"{a_ms:.1f}", f"{b_ms:.1f}", f"{gap_ms:+.1f}", f"{ratio:.3f}")
    console.print(table)
    verdict = "within" if abs(gap_ms) < TIMING_PROMISE_MS else "NOT within"
    console.print(
        f"|B-A| {abs(gap_ms):.1f} ms (median of runs), worst run {worst_gap_ms:.1f} ms, "
        f"between the median A and median B {abs(b_ms - a_ms):.1f} ms: "
        f"{verdict} the promised {TIMING_PROMISE_MS:g} ms"
    )
    if identical:
        status, body, _ = next(iter(timing.wrong_password_answers))
        console.print(f"answers identical (status, body, header names): {status} {body}")
    else:
        console.print("[bold red]answers differ[/bold red]")
        for side, answers in (
            ("A wrong password", timing.wrong_password_answers),
            ("B unknown email", timing.unknown_email_answers),
        ):
            for answer in sorted(answers):
                console.print(f"  {side}: {answer}")
    return {
        "cap": timing.cap,
        "pairs_per_run": args.pairs,
        "wrong_password_p50_ms_per_run": timing.wrong_password_ms,
        "unknown_email_p50_ms_per_run": timing.unknown_email_ms,
        "median_wrong_password_ms": a_ms,
        "median_unknown_email_ms": b_ms,
        "median_unknown_minus_wrong_ms": gap_ms,
        "median_ratio_unknown_to_wrong": ratio,
        "worst_run_abs_difference_ms": worst_gap_ms,
        "difference_of_medians_ms": b_ms - a_ms,
        "within_promise": abs(gap_ms) < TIMING_PROMISE_MS,
        "answers_identical": identical,
        "answers": {
            "wrong_password": sorted(timing.wrong_password_answers),
            "unknown_email": sorted(timing.unknown_email_answers),
        },
    }


def summarise(results: BenchResults, args: argparse.Namespace) -> dict[str, object]:
    medians = summarise_throughput(results.caps, args) if results.caps else {}
    timing = summarise_timing(results.timing, args)
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
            "pairs": args.pairs,
            "timing_only": args.timing_only,
        },
        "per_run": {str(cap): vars(r) for cap, r in results.caps.items()},
        "medians": medians,
        "timing": timing,
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
    parser.add_argument("--pairs", type=int, default=200, help="timing pairs A B per run")
    parser.add_argument(
        "--timing-only", action="store_true", help="skip the throughput runs, time logins only"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    if min(args.clients, args.users, args.runs) < 1 or min(args.seconds, args.probe_seconds) <= 0:
        parser.error("--clients, --users, --runs, --seconds and --probe-seconds must be positive")
    if not 1 <= args.pairs <= MAX_PAIRS:
        parser.error(f"--pairs must be between 1 and {MAX_PAIRS}")
    if not args.probe_path.startswith("/"):
        parser.error("--probe-path must start with /")
    summary = summarise(asyncio.run(bench(args)), args)
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
        console.print(f"[dim]results written to {args.json}[/dim]")


if __name__ == "__main__":
    main()
