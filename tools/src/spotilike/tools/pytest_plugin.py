"""The Spotilike pytest plugin: real infrastructure for integration tests.

The first test that asks for the stack brings it up (or reuses one that is already running
on the configured ports) and, when this run started it, stops it at the end. With
``SPOTILIKE_TEST_EXTERNAL_STACK=1`` the plugin trusts that the servers are already up on the
configured ports and starts nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from spotilike.tools.stack.config import StackConfig, StackEndpoints

__all__ = ["stack"]


@pytest.fixture(scope="session")
def stack() -> Iterator[StackEndpoints]:
    config = StackConfig.from_env()
    if os.environ.get("SPOTILIKE_TEST_EXTERNAL_STACK") == "1":
        yield config.endpoints
        return
    from spotilike.tools.stack.manager import Stack  # noqa: PLC0415 - heavy, only when needed

    local_stack = Stack(config)
    started_here = local_stack.up()
    try:
        yield local_stack.endpoints
    finally:
        if started_here:
            local_stack.down()


@pytest.fixture(scope="session")
def redis_url(stack: StackEndpoints) -> str:
    return stack.redis_url


@pytest.fixture(scope="session")
def kafka_bootstrap(stack: StackEndpoints) -> str:
    return stack.kafka_bootstrap
