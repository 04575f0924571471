"""The periodic worker keeps its rhythm through failing steps and stops promptly."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from spotilike.kit.periodic import PeriodicWorker

pytestmark = pytest.mark.unit


async def test_a_failing_step_is_logged_and_tried_again() -> None:
    calls = 0
    third_call = asyncio.Event()

    async def step() -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            third_call.set()
        if calls < 3:
            raise ConnectionError("valkey is down")

    worker = PeriodicWorker("sweep", step, interval_seconds=0.01)
    with capture_logs() as logs:
        running = asyncio.create_task(worker.run())
        await asyncio.wait_for(third_call.wait(), timeout=10)
        worker.stop()
        await asyncio.wait_for(running, timeout=10)
    failures = [entry for entry in logs if entry["event"] == "periodic_step_failed"]
    assert len(failures) == 2
    assert failures[0]["worker"] == "sweep"
    assert "valkey is down" in failures[0]["error"]


async def test_stop_ends_the_wait_between_steps_at_once() -> None:
    started = asyncio.Event()

    async def step() -> None:
        started.set()

    worker = PeriodicWorker("evict", step, interval_seconds=3600)
    running = asyncio.create_task(worker.run())
    await asyncio.wait_for(started.wait(), timeout=10)
    worker.stop()
    # Within an hour-long interval: only an interrupted wait lets this finish.
    await asyncio.wait_for(running, timeout=10)
    assert running.done()


def test_the_interval_must_be_positive() -> None:
    async def step() -> None:
        return None

    with pytest.raises(ValueError, match="positive"):
        PeriodicWorker("x", step, interval_seconds=0)
