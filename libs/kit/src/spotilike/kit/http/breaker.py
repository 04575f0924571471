"""A circuit breaker per upstream, tripped by the failure rate over a rolling window.

Why our own: the maintained PyPI breakers count *consecutive* failures rather than a
failure rate over a window with a minimum number of calls. pybreaker (``fail_max``,
Tornado-style async), aiobreaker (a pybreaker fork, unreleased since 2021) and purgatory
(``threshold`` consecutive failures, one trial call) all work that way, and none of them
takes an injectable clock, so their open wait cannot be tested without sleeping. The state
machine below is small enough to read in one sitting.

The breaker is a plain synchronous object: every method runs to completion without an
``await``, so within one event loop its bookkeeping needs no lock. It is not thread-safe.

States, exported as ``spotilike_circuit_state{upstream=...}``:

- ``CLOSED`` (0): calls pass; each outcome enters a window of the last ``window_size``
  outcomes no older than ``window_seconds``. Once the window holds ``minimum_calls``
  outcomes and the share of failures reaches ``failure_rate_threshold``, it opens.
- ``OPEN`` (1): calls are refused with :class:`CircuitOpenError` for ``open_seconds``.
- ``HALF_OPEN`` (2): at most ``half_open_max_calls`` trial calls are let through. The
  first failed trial reopens the circuit; when all trials succeed it closes with an empty
  window.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable

import structlog
from prometheus_client import Gauge

from spotilike.kit.http.errors import CircuitOpenError

__all__ = ["CIRCUIT_STATE", "CircuitBreaker", "CircuitState", "Permit", "StateListener"]

CIRCUIT_STATE = Gauge(
    "spotilike_circuit_state",
    "Circuit breaker state per upstream: 0 closed, 1 open, 2 half-open.",
    ["upstream"],
)

_log = structlog.get_logger(__name__)


class CircuitState(enum.IntEnum):
    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2


StateListener = Callable[[str, CircuitState, CircuitState], None]
"""Called with ``(name, old_state, new_state)`` on every transition."""


class Permit:
    """Leave to make one call, handed out by :meth:`CircuitBreaker.acquire`.

    Settle it exactly once: :meth:`success`, :meth:`failure`, or :meth:`release` when the
    call ended without an outcome that says anything about the upstream (the caller
    cancelled it). Later calls on the same permit are ignored.
    """

    __slots__ = ("_breaker", "_generation", "_settled")

    def __init__(self, breaker: CircuitBreaker, generation: int) -> None:
        self._breaker = breaker
        self._generation = generation
        self._settled = False

    def success(self) -> None:
        self._settle(True)

    def failure(self) -> None:
        self._settle(False)

    def release(self) -> None:
        self._settle(None)

    def _settle(self, outcome: bool | None) -> None:
        if self._settled:
            return
        self._settled = True
        self._breaker._settle(self._generation, outcome)


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failure_rate_threshold: float = 0.5,
        window_size: int = 20,
        window_seconds: float = 60.0,
        minimum_calls: int = 10,
        open_seconds: float = 30.0,
        half_open_max_calls: int = 3,
        clock: Callable[[], float] = time.monotonic,
        on_state_change: StateListener | None = None,
    ) -> None:
        if not 0.0 < failure_rate_threshold <= 1.0:
            raise ValueError(
                f"failure_rate_threshold must be in (0, 1], got {failure_rate_threshold}"
            )
        if not 1 <= minimum_calls <= window_size:
            raise ValueError(
                f"minimum_calls must be between 1 and window_size ({window_size}), "
                f"got {minimum_calls}"
            )
        if window_seconds <= 0 or open_seconds <= 0:
            raise ValueError("window_seconds and open_seconds must be positive")
        if half_open_max_calls < 1:
            raise ValueError(f"half_open_max_calls must be at least 1, got {half_open_max_calls}")
        self.name = name
        self.failure_rate_threshold = failure_rate_threshold
        self.window_size = window_size
        self.window_seconds = window_seconds
        self.minimum_calls = minimum_calls
        self.open_seconds = open_seconds
        self.half_open_max_calls = half_open_max_calls
        self._clock = clock
        self._on_state_change = on_state_change

        self._state = CircuitState.CLOSED
        # Bumped on every transition, so an outcome of a call admitted in an earlier state
        # (a slow call that started before the circuit opened) cannot skew the current one.
        self._generation = 0
        self._outcomes: deque[tuple[float, bool]] = deque(maxlen=window_size)
        self._opened_at = 0.0
        self._trials_in_flight = 0
        self._trial_successes = 0
        CIRCUIT_STATE.labels(upstream=name).set(CircuitState.CLOSED)

    @property
    def state(self) -> CircuitState:
        self._advance()
        return self._state

    def retry_in(self) -> float:
        """Seconds until an open circuit lets a trial call through; 0 otherwise."""
        self._advance()
        if self._state is not CircuitState.OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.open_seconds - self._clock())

    def failure_rate(self) -> float:
        """Share of failures in the current window (0 when it is empty)."""
        self._prune(self._clock())
        if not self._outcomes:
            return 0.0
        return sum(1 for _, ok in self._outcomes if not ok) / len(self._outcomes)

    def acquire(self) -> Permit:
        """Returns a permit for one call, or raises :class:`CircuitOpenError`."""
        self._advance()
        if self._state is CircuitState.OPEN:
            raise CircuitOpenError(self.name, retry_in=self.retry_in(), reason="open")
        if self._state is CircuitState.HALF_OPEN:
            if self._trials_in_flight + self._trial_successes >= self.half_open_max_calls:
                raise CircuitOpenError(
                    self.name,
                    retry_in=0.0,
                    reason=f"half-open with all {self.half_open_max_calls} trial calls taken",
                )
            self._trials_in_flight += 1
        return Permit(self, self._generation)

    def _settle(self, generation: int, outcome: bool | None) -> None:
        if generation != self._generation:
            return
        if self._state is CircuitState.HALF_OPEN:
            self._trials_in_flight -= 1
            if outcome is False:
                self._transition(CircuitState.OPEN)
            elif outcome is True:
                self._trial_successes += 1
                if self._trial_successes >= self.half_open_max_calls:
                    self._transition(CircuitState.CLOSED)
            return
        if outcome is None:
            return
        now = self._clock()
        self._outcomes.append((now, outcome))
        self._prune(now)
        if not outcome and self._should_trip():
            self._transition(CircuitState.OPEN)

    def _should_trip(self) -> bool:
        calls = len(self._outcomes)
        if calls < self.minimum_calls:
            return False
        failures = sum(1 for _, ok in self._outcomes if not ok)
        return failures / calls >= self.failure_rate_threshold

    def _prune(self, now: float) -> None:
        horizon = now - self.window_seconds
        while self._outcomes and self._outcomes[0][0] <= horizon:
            self._outcomes.popleft()

    def _advance(self) -> None:
        if (
            self._state is CircuitState.OPEN
            and self._clock() >= self._opened_at + self.open_seconds
        ):
            self._transition(CircuitState.HALF_OPEN)

    def _transition(self, new: CircuitState) -> None:
        old = self._state
        self._state = new
        self._generation += 1
        self._outcomes.clear()
        self._trials_in_flight = 0
        self._trial_successes = 0
        if new is CircuitState.OPEN:
            self._opened_at = self._clock()
        CIRCUIT_STATE.labels(upstream=self.name).set(new)
        log = _log.warning if new is CircuitState.OPEN else _log.info
        log(
            "circuit_state_changed",
            upstream=self.name,
            old_state=old.name.lower(),
            new_state=new.name.lower(),
        )
        if self._on_state_change is not None:
            self._on_state_change(self.name, old, new)
