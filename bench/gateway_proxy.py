"""The gateway's proxying cost: throughput and latency against nginx proxying the same
upstream and against calling the upstream directly.

The upstream is an nginx server (one worker) that answers every request with the same
1 KiB JSON body (``return 200``), so it is never the bottleneck and what is measured is
the hop in front of it. The proxies each run ``--workers`` processes, one per core by
default, as each would be deployed on the machine (Debian's nginx says
``worker_processes auto``). Targets, all on 127.0.0.1:

- D, direct: the upstream itself;
- N, nginx: Debian's nginx, ``proxy_pass`` to the upstream with a keep-alive pool
  (``keepalive 64``, HTTP/1.1, ``Connection ""``) and X-Forwarded-For/Host set;
- G, gateway: ``spotilike gateway serve`` as shipped (its own HTTP/1.1 protocol under
  uvicorn, uvloop) with a public route without a rate limit to the upstream, so the
  figure is the proxy path itself (routing, header rewriting, breaker, balancer, the
  upstream pool, request id and metrics);
- U, the same gateway app under uvicorn's own protocol (uvloop, httptools);
- R, the same app under granian (ASGI, its HTTP in Rust threads), what the gateway
  shipped with before; only when granian is importable (``--with granian``);
- P (``--also-on PYTHON``), the shipped gateway on another interpreter, to show in the
  same run what CPython's build costs (below);
- S (``--secured``), the shipped gateway on a route that needs a token and counts a rate
  limit: every request verifies an RS256 token (the key served by the upstream nginx),
  checks the kit's Valkey denylist and takes a moving-window hit in Valkey, at a limit the
  bench never reaches. It needs the stack's Valkey (``uv run spotilike stack up``).

The client is ``wrk`` (Debian), the same for every target: one thread, ``--connections``
keep-alive connections for the throughput phase, one connection for the latency phase
(so p50 there is the time one request takes, with no queueing). Each run measures every
target in turn (D N G U [R] [P] [S]), after one warm-up run; figures are medians over ``--runs``.
The throughput phase also records each target's own CPU per request (its process and
worker processes, from /proc): on a shared machine that moves less than requests/s, and
the ratio to nginx's says how much more work the gateway does per request.
nginx (through ``bench/nginx.py``, as the other benches) and wrk are installed with apt-get
when missing (this needs root).

The gateways run on the interpreter that runs the bench. How that CPython was built
moves the gateway's CPU per request by a quarter: this machine's default, pyenv's build
(no profile-guided or link-time optimisation, libpython a shared library), costs that much
more than Debian's ``/usr/bin/python3.11``, which is built with both, as release images
such as the official ``python`` ones are. The recorded figures run the bench on Debian's,
in an environment of its own, and the pyenv build as P:

    UV_PROJECT_ENVIRONMENT=.venv-optimized uv run --frozen --python /usr/bin/python3.11 \\
        --with granian --with httpx2 --with pyreqwest \\
        python bench/gateway_proxy.py --runs 5 --also-on .venv/bin/python

Then the upstream HTTP clients the proxy could use are compared from one process against
the same upstream: the gateway's own pool (``spotilike.gateway.proxy.connections``),
aiohttp's ClientSession, and httpx2's AsyncClient and pyreqwest's Client when importable
(``uv run --with httpx2 --with pyreqwest ...``): requests/s at the same concurrency,
alternated, median of ``--runs``.

    uv run --with granian python bench/gateway_proxy.py --runs 5 [--seconds 5] [--connections 32]
        [--workers N] [--also-on PYTHON] [--secured] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from measure import free_port, tree_cpu_seconds
from nginx import apt_install, ensure_nginx, nginx_server, stop

from spotilike.gateway.proxy.connections import Deadline, UpstreamPool
from spotilike.tools.pytest_plugin import TokenIssuer

BODY = json.dumps({"id": "0" * 16, "payload": "x" * 980})[:1024]

UPSTREAM_HTTP = """
    server {{
        listen 127.0.0.1:{port};
        location / {{
            default_type application/json;
            return 200 '{body}';
        }}
        location = /.well-known/jwks.json {{
            default_type application/json;
            return 200 '{jwks}';
        }}
    }}
"""
# The secured route's limit: counted like the real ones, never reached by the bench.
SECURED_RATE_LIMIT = "100000000/minute"

PROXY_HTTP = """
    upstream backend {{
        server 127.0.0.1:{upstream_port};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
"""


@dataclass
class Sample:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int = 0
    cpu_us_per_request: float = float("nan")
    """The target's own processes' CPU (user + system, every thread and worker process)
    over the phase, per request: steadier than throughput on a shared machine."""


@dataclass
class Target:
    key: str
    label: str
    url: str
    pid: int
    """The process whose CPU (with its direct children) the throughput phase measures."""
    headers: tuple[str, ...] = ()
    throughput: list[Sample] = field(default_factory=list)
    latency: list[Sample] = field(default_factory=list)


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def _gateway_env(port: int, upstream: str, *, secured: bool = False) -> dict[str, str]:
    route: dict[str, Any] = {"prefix": "/", "service": "bench"}
    if secured:
        route |= {"auth": "required", "rate_limit": "bench"}
        extra = {
            "SPOTILIKE_GATEWAY_RATE_LIMITS": json.dumps({"bench": SECURED_RATE_LIMIT}),
            "SPOTILIKE_GATEWAY_JWKS_URL": upstream + "/.well-known/jwks.json",
            "SPOTILIKE_GATEWAY_JWT_ISSUER": TokenIssuer.issuer,
            "SPOTILIKE_GATEWAY_JWT_AUDIENCE": TokenIssuer.audience,
            "SPOTILIKE_GATEWAY_RATE_LIMIT_NAMESPACE": "bench-" + os.urandom(4).hex(),
        }
    else:
        route |= {"auth": "public", "rate_limit": None}
        extra = {}
    return {
        **os.environ,
        "SPOTILIKE_ENV": "test",
        "SPOTILIKE_GATEWAY_HOST": "127.0.0.1",
        "SPOTILIKE_GATEWAY_PORT": str(port),
        "SPOTILIKE_GATEWAY_ROUTES": json.dumps([route]),
        "SPOTILIKE_GATEWAY_UPSTREAMS": json.dumps({"bench": [upstream]}),
        "SPOTILIKE_GATEWAY_STATIC_DIR": "",
        "SPOTILIKE_GATEWAY_LOG_LEVEL": "WARNING",
        **extra,
    }


# granian as the gateway shipped it until 2026-12-02 (its HTTP in Rust threads), for the
# comparison; only with ``--with granian``.
_GRANIAN = """
import os, sys
from granian.constants import HTTPModes, Interfaces, Loops
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server import Server
Server(
    "spotilike.gateway.app:create_gateway_app", factory=True, address="127.0.0.1",
    port=int(sys.argv[1]), interface=Interfaces.ASGI, workers=int(sys.argv[2]),
    loop=Loops.uvloop, http=HTTPModes.http1, websockets=True, backlog=4096,
    http1_settings=HTTP1Settings(header_read_timeout=5000, keep_alive=True),
    log_level=LogLevels.warning, log_access=False,
).serve()
"""


def _start_gateway(
    server: str,
    port: int,
    upstream: str,
    *,
    workers: int,
    secured: bool = False,
    python: str = sys.executable,
) -> subprocess.Popen[bytes]:
    env = _gateway_env(port, upstream, secured=secured) | {
        "SPOTILIKE_GATEWAY_WORKERS": str(workers)
    }
    if server == "gateway":
        command = [python, "-c", "from spotilike.gateway.cli import app; app(['serve'])"]
    elif server == "granian":
        command = [python, "-c", _GRANIAN, str(port), str(workers)]
    else:
        command = [
            python, "-m", "uvicorn", "--factory", "--host", "127.0.0.1",
            "--port", str(port), "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--no-server-header", "--no-proxy-headers",
            "--log-level", "warning", "--workers", str(workers),
            "spotilike.gateway.app:create_gateway_app",
        ]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


# Each server's target key and label.
_SERVERS = {
    "gateway": ("G", "gateway as shipped (its protocol under uvicorn)"),
    "uvicorn": ("U", "gateway under uvicorn's own httptools protocol"),
    "granian": ("R", "gateway under granian"),
}


_LATENCY = re.compile(r"^\s*(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_COUNT = re.compile(r"^\s*(\d+) requests in", re.MULTILINE)
_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk(url: str, *, connections: int, seconds: int, headers: tuple[str, ...] = ()) -> Sample:
    header_options = [option for header in headers for option in ("-H", header)]
    result = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *header_options, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    out = result.stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors against {url}:\n{out}")
    rate = _RATE.search(out)
    latencies = {m.group(1): float(m.group(2)) * _UNIT[m.group(3)] for m in _LATENCY.finditer(out)}
    if rate is None or set(latencies) != {"50", "99"}:
        raise RuntimeError(f"unreadable wrk output:\n{out}")
    count = _COUNT.search(out)
    return Sample(
        float(rate.group(1)),
        latencies["50"],
        latencies["99"],
        requests=int(count.group(1)) if count else 0,
    )


def _wrk_with_cpu(target: Target, *, connections: int, seconds: int) -> Sample:
    before = tree_cpu_seconds(target.pid)
    sample = _wrk(target.url, connections=connections, seconds=seconds, headers=target.headers)
    if sample.requests:
        spent = tree_cpu_seconds(target.pid) - before
        sample.cpu_us_per_request = spent / sample.requests * 1e6
    return sample


def _median(samples: list[Sample], name: str) -> float:
    return statistics.median(getattr(sample, name) for sample in samples)


async def _client_rate(kind: str, url: str, *, concurrency: int, seconds: float) -> float:
    done = 0
    stop_at = time.monotonic() + seconds

    if kind == "pool":
        pool = UpstreamPool(connect_timeout_seconds=2, max_connections=256, idle_seconds=4)
        origin, _, path = url.partition("/bench")
        loop = asyncio.get_running_loop()

        async def pooled() -> None:
            nonlocal done
            while time.monotonic() < stop_at:
                deadline = Deadline(loop.time() + 10)
                response = await pool.request(origin, "GET", "/bench" + path, [], deadline=deadline)
                while await response.read(10):
                    pass
                response.release()
                done += 1

        await asyncio.gather(*(pooled() for _ in range(concurrency)))
        await pool.aclose()
    elif kind == "aiohttp":
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

            async def worker() -> None:
                nonlocal done
                while time.monotonic() < stop_at:
                    async with session.get(url) as response:
                        await response.read()
                    done += 1

            await asyncio.gather(*(worker() for _ in range(concurrency)))
    elif kind == "pyreqwest":
        from pyreqwest.client import ClientBuilder  # noqa: PLC0415 - optional

        async with ClientBuilder().max_connections(concurrency).build() as reqwest:

            async def fetch() -> None:
                nonlocal done
                while time.monotonic() < stop_at:
                    async with reqwest.get(url).build_streamed() as response:
                        reader = response.body_reader
                        while await reader.read_chunk() is not None:
                            pass
                    done += 1

            await asyncio.gather(*(fetch() for _ in range(concurrency)))
    else:
        import httpx2  # noqa: PLC0415 - optional, only with --with httpx2

        async with httpx2.AsyncClient(limits=httpx2.Limits(max_connections=concurrency)) as client:

            async def worker() -> None:
                nonlocal done
                while time.monotonic() < stop_at:
                    response = await client.get(url)
                    await response.aread()
                    done += 1

            await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--servers", default="gateway,uvicorn,granian")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes of nginx's proxy (worker_processes) and of every gateway: one per "
        "core by default, as each would be deployed on the machine",
    )
    parser.add_argument(
        "--secured",
        action="store_true",
        help="also S: the shipped gateway with a token verified (RS256, Valkey denylist) "
        "and a rate limit counted in Valkey on every request; needs the stack's Valkey",
    )
    parser.add_argument(
        "--also-on",
        metavar="PYTHON",
        help="also P: the shipped gateway on this interpreter, an environment's python with "
        "the project installed (such as .venv/bin/python), to see what the interpreter's "
        "build costs in the same run",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.runs < 5:
        sys.exit("--runs must be at least 5 (the method: medians of >= 5 runs)")
    ensure_nginx()
    if shutil.which("wrk") is None:
        apt_install("wrk")

    servers = [s for s in args.servers.split(",") if s]
    if "granian" in servers and importlib.util.find_spec("granian") is None:
        servers.remove("granian")
    issuer = TokenIssuer()
    upstream_port, nginx_port = free_port(), free_port()
    with contextlib.ExitStack() as stack:
        upstream_server = stack.enter_context(
            nginx_server(
                UPSTREAM_HTTP.format(port=upstream_port, body=BODY, jwks=json.dumps(issuer.jwks())),
                port=upstream_port,
            )
        )
        proxy_server = stack.enter_context(
            nginx_server(
                PROXY_HTTP.format(port=nginx_port, upstream_port=upstream_port),
                port=nginx_port,
                workers=args.workers,
            )
        )
        upstream, proxy = upstream_server.url, proxy_server.url
        targets = [
            Target(
                "D",
                "direct to the upstream",
                upstream + "/bench/item",
                pid=upstream_server.process.pid,
            ),
            Target("N", "nginx proxy_pass", proxy + "/bench/item", pid=proxy_server.process.pid),
        ]

        def add_gateway(
            key: str,
            label: str,
            server: str = "gateway",
            *,
            python: str = sys.executable,
            secured: bool = False,
            headers: tuple[str, ...] = (),
        ) -> None:
            port = free_port()
            gateway = _start_gateway(
                server, port, upstream, workers=args.workers, secured=secured, python=python
            )
            # The stack unwinds last in, first out: gateways stop before their upstream.
            stack.callback(stop, gateway)
            _wait_ready(f"http://127.0.0.1:{port}/health/live", gateway)
            url = f"http://127.0.0.1:{port}/bench/item"
            targets.append(Target(key, label, url, headers=headers, pid=gateway.pid))

        for server in servers:
            add_gateway(*_SERVERS[server], server)
        if args.also_on:
            label = f"gateway as shipped, on {_interpreter(args.also_on)}"
            add_gateway("P", label, python=args.also_on)
        if args.secured:
            # One listener for the whole run: the token outlives it.
            token = issuer.token("bench-listener", exp=int(time.time()) + 6 * 3600)
            add_gateway(
                "S",
                "gateway as shipped, token and rate limit",
                secured=True,
                headers=(f"Authorization: Bearer {token}",),
            )

        for run in range(args.runs + 1):
            for target in targets:
                heavy = _wrk_with_cpu(target, connections=args.connections, seconds=args.seconds)
                light = _wrk(
                    target.url, connections=1, seconds=args.seconds, headers=target.headers
                )
                if run > 0:
                    target.throughput.append(heavy)
                    target.latency.append(light)
            print(f"run {run}{' (warm-up)' if run == 0 else ''} done")

        clients = ["pool", "aiohttp"]
        clients += [c for c in ("httpx2", "pyreqwest") if importlib.util.find_spec(c) is not None]
        client_rates: dict[str, list[float]] = {kind: [] for kind in clients}
        for run in range(args.runs + 1):
            for kind in clients:
                rate = asyncio.run(
                    _client_rate(
                        kind,
                        upstream + "/bench/item",
                        concurrency=args.connections,
                        seconds=args.seconds,
                    )
                )
                if run > 0:
                    client_rates[kind].append(rate)

    report = _report(targets, client_rates, args)
    print(json.dumps(report, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))


def _interpreter(python: str) -> str:
    """Which CPython: version, prefix, compiler, and whether the executable links libpython
    as a shared library. Whether it was built with PGO and LTO leaves no trace a script
    can rely on (Debian's sysconfig does not show it), so docs/benchmarks.md says it."""
    facts = subprocess.run(
        [
            python,
            "-c",
            "import platform, sys; print(platform.python_version(), sys.base_prefix, "
            "platform.python_compiler(), sep='|')",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    version, prefix, compiler = facts.split("|")
    linked = subprocess.run(
        ["ldd", str(Path(python).resolve())], capture_output=True, text=True, check=False
    ).stdout
    linkage = "libpython shared" if "libpython" in linked else "libpython built in"
    return f"CPython {version} ({prefix}, {compiler}, {linkage})"


def _report(
    targets: list[Target], client_rates: dict[str, list[float]], args: argparse.Namespace
) -> dict[str, Any]:
    by_key = {t.key: t for t in targets}
    direct, nginx = by_key["D"], by_key["N"]
    figures: dict[str, Any] = {}
    for target in targets:
        figures[target.key] = {
            "label": target.label,
            "rps": round(_median(target.throughput, "requests_per_second")),
            "p50_ms_at_c": round(_median(target.throughput, "p50_ms"), 3),
            "p99_ms_at_c": round(_median(target.throughput, "p99_ms"), 3),
            "p50_ms_c1": round(_median(target.latency, "p50_ms"), 3),
            "p99_ms_c1": round(_median(target.latency, "p99_ms"), 3),
            "rps_c1": round(_median(target.latency, "requests_per_second")),
            "cpu_us_per_request": round(_median(target.throughput, "cpu_us_per_request"), 1),
        }
    ratios: dict[str, Any] = {}
    for key in by_key:
        if key in ("D", "N"):
            continue
        ratios[key] = {
            "throughput_vs_nginx": round(figures[key]["rps"] / figures["N"]["rps"], 3),
            "throughput_vs_direct": round(figures[key]["rps"] / figures["D"]["rps"], 3),
            "cpu_per_request_vs_nginx": round(
                figures[key]["cpu_us_per_request"] / figures["N"]["cpu_us_per_request"], 2
            ),
            "added_p50_ms_c1": round(figures[key]["p50_ms_c1"] - figures["D"]["p50_ms_c1"], 3),
            "nginx_added_p50_ms_c1": round(
                figures["N"]["p50_ms_c1"] - figures["D"]["p50_ms_c1"], 3
            ),
        }
    del direct, nginx
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": _interpreter(sys.executable),
        "runs": args.runs,
        "seconds": args.seconds,
        "connections": args.connections,
        "workers": args.workers,
        "targets": figures,
        "ratios": ratios,
        "clients_rps_median": {
            kind: round(statistics.median(rates)) for kind, rates in client_rates.items()
        },
    }


if __name__ == "__main__":
    main()
