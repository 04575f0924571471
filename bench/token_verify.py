"""Access-token verifications per second through the kit's TokenVerifier, against bare PyJWT.

Tokens are signed the way the users service signs them (``spotilike.users.signing``:
RS256, 3072-bit key, ``typ`` at+jwt, a ``kid``), one distinct token per verification.

A (reference): ``jwt.decode(token, public_key, algorithms=["RS256"], audience=...,
issuer=...)`` on every token, one after the other.
B (kit): ``await TokenVerifier.verify(token)`` on the same tokens, with the keys in a
``JwksCache`` whose fetch function returns the JWKS from memory, in three variants:
``denylist=None``; a ``TokenDenylist`` on the stack's Valkey, one verification at a time;
the same denylist with ``--concurrency`` verifications in flight, as a server would run them.
For scale, a fourth row times one bare redis-py ``EXISTS`` per token, one at a time: the
round trip the denylist adds, without any verification.

Within a run, A and each B take turns on chunks of ``--chunk`` tokens until every one has
handled all the tokens (a warm-up first, discarded); the figures are medians over
``--runs`` runs, quoted as ratios against A. Nothing is written to Valkey but one denylist
entry for the sanity check, deleted at the end.

    uv run python bench/token_verify.py --runs 5 [--tokens 3000] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jwt
from redis.asyncio import Redis
from redis.exceptions import RedisError
from rich.console import Console
from rich.table import Table

from spotilike.kit.auth import JwksCache, TokenDenylist, TokenVerifier
from spotilike.kit.errors import Unauthorized
from spotilike.tools.stack.config import StackConfig
from spotilike.users.settings import UsersSettings
from spotilike.users.signing import generate_key, load_key_pair, sign_access_token

PASSPHRASE = "bench-only-passphrase"
PHASE_TIMEOUT = 120.0
"""No variant of one run may take longer than this; a stuck Valkey fails the bench."""
STACK_HINT = "start the local stack first: uv run spotilike stack up"
VARIANTS = ("no_denylist", "denylist", "denylist_concurrent", "bare_exists")
"""``bare_exists`` is no verification: one redis-py ``EXISTS`` per token, for scale."""

console = Console(width=120)


@dataclass
class Results:
    tokens: int
    runs: int
    chunk: int
    concurrency: int
    reference_s: list[float] = field(default_factory=list)
    variant_s: dict[str, list[float]] = field(
        default_factory=lambda: {name: [] for name in VARIANTS}
    )


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def run_reference(tokens: list[str], public_key: Any, *, issuer: str, audience: str) -> float:
    started = time.perf_counter()
    deadline = started + PHASE_TIMEOUT
    for token in tokens:
        jwt.decode(token, public_key, algorithms=["RS256"], audience=audience, issuer=issuer)
        if time.perf_counter() > deadline:
            raise SystemExit(f"the reference decodes took longer than {PHASE_TIMEOUT:.0f}s")
    return time.perf_counter() - started


async def run_sequential(verifier: TokenVerifier, tokens: list[str]) -> float:
    async def verify_all() -> None:
        for token in tokens:
            await verifier.verify(token)

    started = time.perf_counter()
    await _bounded(verify_all(), "the sequential verifications")
    return time.perf_counter() - started


async def run_concurrent(verifier: TokenVerifier, tokens: list[str], *, concurrency: int) -> float:
    queue = iter(tokens)

    async def worker() -> None:
        # One shared iterator: each token is taken by exactly one worker.
        for token in queue:
            await verifier.verify(token)

    started = time.perf_counter()
    await _bounded(
        asyncio.gather(*(worker() for _ in range(concurrency))), "the concurrent verifications"
    )
    return time.perf_counter() - started


async def run_bare_exists(redis: Redis, tokens: list[str]) -> float:
    async def exists_all() -> None:
        for token in tokens:
            await redis.exists(TokenDenylist.key(token[-22:]))

    started = time.perf_counter()
    await _bounded(exists_all(), "the bare EXISTS calls")
    return time.perf_counter() - started


async def _bounded(work: Awaitable[object], what: str) -> None:
    try:
        await asyncio.wait_for(work, PHASE_TIMEOUT)
    except TimeoutError:
        raise SystemExit(f"{what} did not finish within {PHASE_TIMEOUT:.0f}s") from None


async def _check_denylist_works(
    plain: TokenVerifier, checked: TokenVerifier, denylist: TokenDenylist, token: str, jti: str
) -> None:
    """A denied token must fail only where the denylist is consulted, or the variants differ."""
    await denylist.deny(jti, datetime.now(UTC) + timedelta(minutes=5))
    await plain.verify(token)
    try:
        await checked.verify(token)
    except Unauthorized:
        return
    raise SystemExit("a denylisted token passed the verifier with the denylist")


async def bench(args: argparse.Namespace) -> Results:
    settings = UsersSettings(env="test")
    issuer, audience = settings.jwt_issuer, settings.jwt_audience
    generated = generate_key(PASSPHRASE)
    key = load_key_pair(generated.kid, generated.encrypted_private_pem, PASSPHRASE)
    public_key = key.private_key.public_key()
    jwks: Mapping[str, Any] = {"keys": [generated.public_jwk]}

    async def fetch_jwks() -> Mapping[str, Any]:
        return jwks

    def sign(count: int) -> list[str]:
        return [
            sign_access_token(
                key,
                issuer=issuer,
                audience=audience,
                subject=str(uuid.uuid4()),
                roles=["USER"],
                ttl=timedelta(minutes=15),
                session_id=str(uuid.uuid4()),
            ).token
            for _ in range(count)
        ]

    console.print(f"[dim]signing {args.tokens:,} access tokens ...[/dim]")
    tokens = sign(args.tokens)
    warmup = tokens[: min(len(tokens), 500)]
    denied = sign_access_token(
        key,
        issuer=issuer,
        audience=audience,
        subject=str(uuid.uuid4()),
        roles=["USER"],
        ttl=timedelta(minutes=5),
        session_id=str(uuid.uuid4()),
    )

    redis_url = StackConfig.from_env().endpoints.redis_url
    redis = Redis.from_url(redis_url, socket_timeout=5)
    denylist = TokenDenylist(redis)
    try:
        await redis.ping()
    except (RedisError, OSError) as exc:
        await redis.aclose()
        raise SystemExit(f"cannot reach Valkey at {redis_url} ({exc}); {STACK_HINT}") from None

    plain = TokenVerifier(
        issuer=issuer, audience=audience, keys=JwksCache(fetch_jwks), denylist=None
    )
    checked = TokenVerifier(
        issuer=issuer, audience=audience, keys=JwksCache(fetch_jwks), denylist=denylist
    )
    runners: dict[str, Callable[[list[str]], Awaitable[float]]] = {
        "no_denylist": lambda batch: run_sequential(plain, batch),
        "denylist": lambda batch: run_sequential(checked, batch),
        "denylist_concurrent": lambda batch: run_concurrent(
            checked, batch, concurrency=args.concurrency
        ),
        "bare_exists": lambda batch: run_bare_exists(redis, batch),
    }
    results = Results(
        tokens=args.tokens, runs=args.runs, chunk=args.chunk, concurrency=args.concurrency
    )
    try:
        await _check_denylist_works(plain, checked, denylist, denied.token, denied.jti)
        console.print(f"[dim]warm-up: {len(warmup)} tokens each way, not counted[/dim]")
        run_reference(warmup, public_key, issuer=issuer, audience=audience)
        for name in VARIANTS:
            await runners[name](warmup)

        chunks = [tokens[i : i + args.chunk] for i in range(0, len(tokens), args.chunk)]
        for run in range(1, args.runs + 1):
            # A and every B take turns chunk by chunk, so a burst of load from elsewhere on
            # the machine lands on all of them instead of on whichever ran at that moment.
            reference = 0.0
            seconds = dict.fromkeys(VARIANTS, 0.0)
            for chunk in chunks:
                reference += run_reference(chunk, public_key, issuer=issuer, audience=audience)
                for name in VARIANTS:
                    seconds[name] += await runners[name](chunk)
            results.reference_s.append(reference)
            line = f"run {run}/{args.runs}: A PyJWT {_rate(args.tokens, reference):,.0f}/s"
            for name in VARIANTS:
                results.variant_s[name].append(seconds[name])
                line += f", {name} {_rate(args.tokens, seconds[name]):,.0f}/s"
            console.print(line)
    finally:
        await redis.delete(TokenDenylist.key(denied.jti))
        await redis.aclose()
    return results


def summarise(results: Results) -> dict[str, object]:
    n = results.tokens
    reference = [_rate(n, s) for s in results.reference_s]
    variants = {name: [_rate(n, s) for s in results.variant_s[name]] for name in VARIANTS}
    medians = {"reference": statistics.median(reference)}
    medians.update({name: statistics.median(rates) for name, rates in variants.items()})
    ratios = {name: medians[name] / medians["reference"] for name in VARIANTS}

    labels = {
        "reference": "A: jwt.decode (reference)",
        "no_denylist": "B: TokenVerifier, denylist None",
        "denylist": "B: TokenVerifier + Valkey denylist, 1 at a time",
        "denylist_concurrent": (
            f"B: TokenVerifier + Valkey denylist, {results.concurrency} in flight"
        ),
        "bare_exists": "for scale: redis-py EXISTS alone, 1 at a time",
    }
    table = Table(title=f"Access-token verifications/s, {n:,} tokens per run, {results.runs} runs")
    table.add_column("variant")
    table.add_column("per run", justify="right")
    table.add_column("median /s", justify="right")
    table.add_column("µs each", justify="right")
    table.add_column("ratio to A", justify="right")
    for name, rates in {"reference": reference, **variants}.items():
        table.add_row(
            labels[name],
            " / ".join(f"{rate:,.0f}" for rate in rates),
            f"{medians[name]:,.0f}",
            f"{1e6 / medians[name]:,.0f}",
            f"{medians[name] / medians['reference']:.2f}",
        )
    console.print(table)
    command = "uv run python " + " ".join(sys.argv)
    console.print(f"command: {command}")
    return {
        "benchmark": "token_verify",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
        },
        "versions": {name: version(name) for name in ("pyjwt", "cryptography", "redis")},
        "config": {
            "tokens": n,
            "runs": results.runs,
            "chunk": results.chunk,
            "concurrency": results.concurrency,
        },
        "seconds": {"reference": results.reference_s, **results.variant_s},
        "verifications_per_second_median": medians,
        "ratio_to_pyjwt": ratios,
        "command": command,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=3000, help="verifications per run")
    parser.add_argument("--runs", type=int, default=5, help="measured runs (>= 1)")
    parser.add_argument(
        "--chunk", type=int, default=250, help="tokens per turn when A and B alternate"
    )
    parser.add_argument(
        "--concurrency", type=int, default=16, help="verifications in flight, last variant"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    if min(args.tokens, args.runs, args.concurrency, args.chunk) < 1:
        parser.error("--tokens, --runs, --concurrency and --chunk must be positive")
    summary = summarise(asyncio.run(bench(args)))
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
        console.print(f"[dim]results written to {args.json}[/dim]")


if __name__ == "__main__":
    main()
