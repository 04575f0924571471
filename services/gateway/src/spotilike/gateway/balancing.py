"""Where each request goes: instances of a service, load balancing and passive ejection.

Instances come from an :class:`InstanceSource` (static URLs, or the registry through
:mod:`spotilike.gateway.discovery`). The balancer keeps, per instance base URL, the
requests in flight and the consecutive failures. After ``eject_after`` connection
failures or 5xx answers in a row an instance is left out for ``eject_seconds`` (passive
health checking: no probes, real traffic is the probe); after that it is back in the
rotation, and a single new failure streak of the same length ejects it again. When every
instance of a service is ejected they are all used anyway: sending traffic to a
possibly-recovered instance beats refusing every request (Envoy's panic mode).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import structlog
from prometheus_client import Counter

__all__ = [
    "EJECTIONS",
    "FallbackInstances",
    "InstanceSource",
    "Lease",
    "LoadBalancer",
    "StaticInstances",
    "Strategy",
    "Upstream",
]

EJECTIONS = Counter(
    "spotilike_gateway_ejections_total",
    "Instances taken out of the rotation after consecutive failures, by service.",
    ["service"],
)

_log = structlog.get_logger(__name__)

Strategy = Literal["round-robin", "least-outstanding"]


@dataclass(frozen=True, slots=True)
class Upstream:
    instance_id: str
    base_url: str


class InstanceSource(Protocol):
    def instances(self, service: str) -> Sequence[Upstream]:
        """The instances to use now; must not block (cached, refreshed elsewhere)."""
        ...


class StaticInstances:
    """Fixed base URLs per service: Kubernetes Service names, or the local ports."""

    def __init__(self, urls: Mapping[str, Sequence[str]]) -> None:
        self._instances = {
            service: tuple(Upstream(url.rstrip("/"), url.rstrip("/")) for url in service_urls)
            for service, service_urls in urls.items()
        }

    def instances(self, service: str) -> Sequence[Upstream]:
        return self._instances.get(service, ())


class FallbackInstances:
    """``primary``'s instances, or ``fallback``'s when it has none for the service."""

    def __init__(self, primary: InstanceSource, fallback: InstanceSource) -> None:
        self._primary = primary
        self._fallback = fallback

    def instances(self, service: str) -> Sequence[Upstream]:
        return self._primary.instances(service) or self._fallback.instances(service)


class _Health:
    __slots__ = ("ejected_until", "failures", "outstanding")

    def __init__(self) -> None:
        self.outstanding = 0
        self.failures = 0
        self.ejected_until = 0.0


class Lease:
    """One request's hold on an instance; settle it once with :meth:`success`,
    :meth:`failure` or :meth:`release` (no verdict: the client went away)."""

    __slots__ = ("_balancer", "_done", "_health", "service", "upstream")

    def __init__(
        self, balancer: LoadBalancer, service: str, upstream: Upstream, health: _Health
    ) -> None:
        self._balancer = balancer
        self.service = service
        self.upstream = upstream
        self._health = health
        self._done = False

    def success(self) -> None:
        self._settle(True)

    def failure(self) -> None:
        self._settle(False)

    def release(self) -> None:
        self._settle(None)

    def _settle(self, ok: bool | None) -> None:
        if self._done:
            return
        self._done = True
        self._balancer._settle(self.service, self.upstream, self._health, ok)


class LoadBalancer:
    def __init__(
        self,
        source: InstanceSource,
        *,
        strategy: Strategy,
        eject_after: int,
        eject_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._strategy = strategy
        self._eject_after = eject_after
        self._eject_seconds = eject_seconds
        self._clock = clock
        self._health: dict[str, _Health] = {}
        self._turn: dict[str, int] = {}

    def _state(self, upstream: Upstream) -> _Health:
        health = self._health.get(upstream.base_url)
        if health is None:
            health = self._health[upstream.base_url] = _Health()
        return health

    def instances(self, service: str) -> Sequence[Upstream]:
        """What the source offers for ``service`` now, ejected instances included."""
        return self._source.instances(service)

    def is_ejected(self, upstream: Upstream) -> bool:
        health = self._health.get(upstream.base_url)
        return health is not None and health.ejected_until > self._clock()

    def outstanding(self, upstream: Upstream) -> int:
        health = self._health.get(upstream.base_url)
        return 0 if health is None else health.outstanding

    def acquire(self, service: str, *, exclude: Collection[str] = ()) -> Lease | None:
        """A lease on the instance to try next, avoiding base URLs in ``exclude`` (those
        already tried for this request); None when the service has no instance left."""
        offered = self._source.instances(service)
        candidates = [u for u in offered if u.base_url not in exclude] if exclude else offered
        if not candidates:
            return None
        if len(candidates) == 1:
            # Ejected or not, a lone instance is the one to try.
            chosen = candidates[0]
        else:
            now = self._clock()
            healthy = [u for u in candidates if self._state(u).ejected_until <= now]
            chosen = self._choose(service, healthy or candidates)
        health = self._state(chosen)
        health.outstanding += 1
        return Lease(self, service, chosen, health)

    def _choose(self, service: str, candidates: Sequence[Upstream]) -> Upstream:
        turn = self._turn.get(service, 0)
        self._turn[service] = turn + 1
        count = len(candidates)
        if self._strategy == "round-robin" or count == 1:
            return candidates[turn % count]
        # Least outstanding, ties broken by rotation so idle instances share the work.
        best = candidates[turn % count]
        best_load = self._state(best).outstanding
        for offset in range(1, count):
            candidate = candidates[(turn + offset) % count]
            load = self._state(candidate).outstanding
            if load < best_load:
                best, best_load = candidate, load
        return best

    def _settle(self, service: str, upstream: Upstream, health: _Health, ok: bool | None) -> None:
        health.outstanding = max(0, health.outstanding - 1)
        if ok is None:
            return
        if ok:
            health.failures = 0
            return
        health.failures += 1
        if health.failures >= self._eject_after and health.ejected_until <= self._clock():
            health.failures = 0
            health.ejected_until = self._clock() + self._eject_seconds
            EJECTIONS.labels(service).inc()
            _log.warning(
                "upstream_instance_ejected",
                service=service,
                instance=upstream.instance_id,
                seconds=self._eject_seconds,
            )
