"""A retry budget: retries may add at most a fixed share to the requests sent.

Per-request retry limits still multiply load when a whole upstream is failing (every
request retries); a budget over a sliding window caps the extra load at ``ratio``, as
Envoy's and gRPC's retry budgets do. Counts are kept in a ring of time buckets, so the
cost per request is a few integer operations whatever the traffic.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from prometheus_client import Counter

__all__ = ["RETRIES", "RetryBudget"]

RETRIES = Counter(
    "spotilike_gateway_retries_total",
    "Retries of proxied requests by service and whether the budget allowed them.",
    ["service", "outcome"],
)

_BUCKETS = 10


class RetryBudget:
    def __init__(
        self,
        *,
        ratio: float,
        minimum: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 <= ratio <= 1 or minimum < 0 or window_seconds <= 0:
            raise ValueError("ratio must be in [0, 1], minimum >= 0 and window_seconds > 0")
        self._ratio = ratio
        self._minimum = minimum
        self._bucket_seconds = window_seconds / _BUCKETS
        self._clock = clock
        self._slots = [-1] * _BUCKETS
        self._requests = [0] * _BUCKETS
        self._retries = [0] * _BUCKETS

    def _bucket(self) -> int:
        slot = math.floor(self._clock() / self._bucket_seconds)
        index = slot % _BUCKETS
        if self._slots[index] != slot:
            self._slots[index] = slot
            self._requests[index] = 0
            self._retries[index] = 0
        return index

    def _live(self) -> tuple[int, int]:
        newest = math.floor(self._clock() / self._bucket_seconds)
        requests = retries = 0
        for index in range(_BUCKETS):
            if newest - self._slots[index] < _BUCKETS:
                requests += self._requests[index]
                retries += self._retries[index]
        return requests, retries

    def record_request(self) -> None:
        self._requests[self._bucket()] += 1

    def try_spend(self) -> bool:
        """Takes one retry from the budget; False when it is used up."""
        requests, retries = self._live()
        if retries >= max(self._minimum, math.floor(requests * self._ratio)):
            return False
        self._retries[self._bucket()] += 1
        return True
