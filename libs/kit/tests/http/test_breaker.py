from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from spotilike.kit.http import CircuitBreaker, CircuitOpenError, CircuitState

pytestmark = pytest.mark.unit

_names = (f"unit-upstream-{n}" for n in itertools.count())


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def make_breaker(clock: Clock, **overrides: object) -> CircuitBreaker:
    settings: dict[str, object] = {
        "failure_rate_threshold": 0.5,
        "window_size": 10,
        "window_seconds": 60.0,
        "minimum_calls": 4,
        "open_seconds": 30.0,
        "half_open_max_calls": 2,
    }
    settings.update(overrides)
    return CircuitBreaker(next(_names), clock=clock, **settings)  # type: ignore[arg-type]


def record(breaker: CircuitBreaker, *outcomes: bool) -> None:
    for ok in outcomes:
        permit = breaker.acquire()
        if ok:
            permit.success()
        else:
            permit.failure()


def open_breaker(breaker: CircuitBreaker) -> None:
    record(breaker, *([False] * breaker.minimum_calls))
    assert breaker.state is CircuitState.OPEN


def test_does_not_trip_before_the_minimum_number_of_calls() -> None:
    breaker = make_breaker(Clock(), minimum_calls=4)
    record(breaker, False, False, False)
    assert breaker.state is CircuitState.CLOSED
    assert breaker.failure_rate() == 1.0


def test_trips_when_the_failure_rate_reaches_the_threshold() -> None:
    breaker = make_breaker(Clock(), failure_rate_threshold=0.5, minimum_calls=4)
    record(breaker, True, True, False)
    assert breaker.state is CircuitState.CLOSED
    record(breaker, False)
    assert breaker.state is CircuitState.OPEN


def test_stays_closed_below_the_threshold() -> None:
    breaker = make_breaker(Clock(), failure_rate_threshold=0.5, minimum_calls=4, window_size=15)
    record(breaker, *([True, True, False] * 5))
    assert breaker.state is CircuitState.CLOSED
    assert breaker.failure_rate() == pytest.approx(1 / 3)


def test_window_keeps_only_the_last_window_size_calls() -> None:
    breaker = make_breaker(Clock(), window_size=4, minimum_calls=4, failure_rate_threshold=0.75)
    record(breaker, False, False, True, True, True, True)
    assert breaker.failure_rate() == 0.0
    record(breaker, False, False)
    assert breaker.state is CircuitState.CLOSED
    record(breaker, False)
    assert breaker.state is CircuitState.OPEN


def test_window_forgets_outcomes_older_than_window_seconds() -> None:
    clock = Clock()
    breaker = make_breaker(clock, window_seconds=10.0, minimum_calls=4)
    record(breaker, False, False, False)
    clock.now += 10.0
    record(breaker, False)
    assert breaker.state is CircuitState.CLOSED
    assert breaker.failure_rate() == 1.0


def test_open_circuit_refuses_calls_and_says_when_to_come_back() -> None:
    clock = Clock()
    breaker = make_breaker(clock, open_seconds=30.0)
    open_breaker(breaker)
    clock.now += 12.0
    with pytest.raises(CircuitOpenError) as caught:
        breaker.acquire()
    assert caught.value.upstream == breaker.name
    assert caught.value.retry_in == pytest.approx(18.0)
    assert breaker.name in str(caught.value)


def test_half_opens_after_the_open_wait_and_limits_trial_calls() -> None:
    clock = Clock()
    breaker = make_breaker(clock, open_seconds=30.0, half_open_max_calls=2)
    open_breaker(breaker)
    clock.now += 30.0
    assert breaker.state is CircuitState.HALF_OPEN
    first, second = breaker.acquire(), breaker.acquire()
    with pytest.raises(CircuitOpenError) as caught:
        breaker.acquire()
    assert caught.value.retry_in == 0.0
    first.success()
    assert breaker.state is CircuitState.HALF_OPEN
    second.success()
    assert breaker.state is CircuitState.CLOSED
    assert breaker.failure_rate() == 0.0


def test_a_failed_trial_reopens_for_a_full_open_wait() -> None:
    clock = Clock()
    breaker = make_breaker(clock, open_seconds=30.0)
    open_breaker(breaker)
    clock.now += 31.0
    breaker.acquire().failure()
    assert breaker.state is CircuitState.OPEN
    assert breaker.retry_in() == pytest.approx(30.0)


def test_released_trial_frees_its_slot_without_counting() -> None:
    clock = Clock()
    breaker = make_breaker(clock, half_open_max_calls=1)
    open_breaker(breaker)
    clock.now += 30.0
    breaker.acquire().release()
    assert breaker.state is CircuitState.HALF_OPEN
    breaker.acquire().success()
    assert breaker.state is CircuitState.CLOSED


def test_outcome_of_a_call_admitted_before_a_transition_is_ignored() -> None:
    clock = Clock()
    breaker = make_breaker(clock, half_open_max_calls=1)
    slow_call = breaker.acquire()
    open_breaker(breaker)
    clock.now += 30.0
    trial = breaker.acquire()
    slow_call.success()
    assert breaker.state is CircuitState.HALF_OPEN
    trial.failure()
    assert breaker.state is CircuitState.OPEN


def test_a_permit_counts_once() -> None:
    breaker = make_breaker(Clock(), minimum_calls=2)
    permit = breaker.acquire()
    permit.failure()
    permit.failure()
    assert breaker.state is CircuitState.CLOSED
    assert breaker.failure_rate() == 1.0


def test_transitions_reach_the_listener_and_the_gauge() -> None:
    clock = Clock()
    seen: list[tuple[str, CircuitState, CircuitState]] = []
    breaker = make_breaker(
        clock, half_open_max_calls=1, on_state_change=lambda *event: seen.append(event)
    )

    def gauge() -> float | None:
        return REGISTRY.get_sample_value("spotilike_circuit_state", {"upstream": breaker.name})

    assert gauge() == 0
    open_breaker(breaker)
    assert gauge() == 1
    clock.now += 30.0
    assert breaker.state is CircuitState.HALF_OPEN
    assert gauge() == 2
    breaker.acquire().success()
    assert gauge() == 0
    assert seen == [
        (breaker.name, CircuitState.CLOSED, CircuitState.OPEN),
        (breaker.name, CircuitState.OPEN, CircuitState.HALF_OPEN),
        (breaker.name, CircuitState.HALF_OPEN, CircuitState.CLOSED),
    ]


@pytest.mark.parametrize(
    "overrides",
    [
        {"failure_rate_threshold": 0.0},
        {"failure_rate_threshold": 1.5},
        {"minimum_calls": 0},
        {"minimum_calls": 11, "window_size": 10},
        {"open_seconds": 0.0},
        {"window_seconds": -1.0},
        {"half_open_max_calls": 0},
    ],
)
def test_rejects_settings_that_cannot_work(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        make_breaker(Clock(), **overrides)


def _trips_somewhere(outcomes: list[bool], window: int, minimum: int, threshold: float) -> bool:
    """Reference answer: at some failure, did the last ``window`` outcomes cross the line?"""
    for end, ok in enumerate(outcomes, start=1):
        recent = outcomes[max(0, end - window) : end]
        enough = len(recent) >= minimum
        if not ok and enough and recent.count(False) / len(recent) >= threshold:
            return True
    return False


@given(
    outcomes=st.lists(st.booleans(), max_size=40),
    window=st.integers(min_value=1, max_value=12),
    minimum_share=st.floats(min_value=0.0, max_value=1.0),
    threshold=st.sampled_from([0.25, 0.5, 0.75, 1.0]),
)
def test_closed_state_trips_exactly_when_the_rolling_rate_says_so(
    outcomes: list[bool], window: int, minimum_share: float, threshold: float
) -> None:
    minimum = max(1, round(window * minimum_share))
    breaker = make_breaker(
        Clock(), window_size=window, minimum_calls=minimum, failure_rate_threshold=threshold
    )
    expected_trip_at = None
    for index in range(len(outcomes)):
        if _trips_somewhere(outcomes[: index + 1], window, minimum, threshold):
            expected_trip_at = index
            break
    for index, ok in enumerate(outcomes):
        if expected_trip_at is not None and index > expected_trip_at:
            with pytest.raises(CircuitOpenError):
                breaker.acquire()
            continue
        record(breaker, ok)
    expected = CircuitState.CLOSED if expected_trip_at is None else CircuitState.OPEN
    assert breaker.state is expected
