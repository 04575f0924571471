"""What every server of the stack looks like to the manager."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import psutil

__all__ = ["Component", "ComponentStatus", "State"]


class State(StrEnum):
    RUNNING = "running"
    NOT_READY = "not ready"
    """Our process is alive but does not answer (yet)."""
    STOPPED = "stopped"
    PORT_TAKEN = "port in use"
    """Not running, and something else holds its port: `up` would fail."""


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    port: int
    pid: int | None
    state: State
    log_path: Path
    detail: str = ""


class Component(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def ports(self) -> tuple[int, ...]:
        """Every port it listens on; the first is the one clients use."""
        ...

    @property
    def log_path(self) -> Path: ...

    def process(self) -> psutil.Process | None:
        """Our live server process, or None when it is not running."""
        ...

    def is_ready(self) -> bool:
        """Answers a real request (a query, a PING, a metadata request)."""
        ...

    def start(self, timeout: float) -> None:
        """Starts it (its ports are known to be free) and waits until it is ready."""
        ...

    def stop(self, timeout: float) -> None: ...
