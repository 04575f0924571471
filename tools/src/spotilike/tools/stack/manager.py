"""The local stack as a whole: bring it up, report on it, take it down, wipe it.

Everything lives under ``config.root``::

    postgres/primary, postgres/replica   data directories
    valkey/                              append-only file and RDB snapshot
    kafka/libs, kafka/data, kafka/config broker jars (cached), log dirs, server.properties
    storage/                             the object storage's local filesystem backend
    mail/                                every message the SMTP sink received (.eml)
    logs/<component>.log                 every server's output
    run/                                 pid files and the lock that serialises `up`/`down`
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from spotilike.tools.stack.component import Component, ComponentStatus, State
from spotilike.tools.stack.config import StackConfig, StackEndpoints
from spotilike.tools.stack.errors import StackError
from spotilike.tools.stack.kafka import Kafka
from spotilike.tools.stack.postgres import (
    PostgresPrimary,
    PostgresReplica,
    PostgresTools,
)
from spotilike.tools.stack.process import port_holder, require_ports_free, wait_until
from spotilike.tools.stack.smtp import SmtpServer
from spotilike.tools.stack.valkey import Valkey

__all__ = ["Progress", "Stack"]

_STOP_TIMEOUT = 60.0
# What `reset` removes. The Kafka jars stay: they are a download cache, not data.
_DATA = (
    "postgres",
    "valkey",
    "kafka/data",
    "kafka/config",
    "kafka/cluster-id",
    "storage",
    "mail",
    "logs",
    "run",
)


class Progress(Protocol):
    """Receives what the stack is doing, for a spinner or plain log lines."""

    def step(self, component: str, message: str) -> None:
        """Work on ``component`` has started; more may follow."""
        ...

    def done(self, component: str, message: str) -> None:
        """``component`` has reached its final state for this command."""
        ...


class _Silent:
    def step(self, component: str, message: str) -> None:
        pass

    def done(self, component: str, message: str) -> None:
        pass


class Stack:
    def __init__(self, config: StackConfig | None = None, *, progress: Progress | None = None):
        base = config or StackConfig.from_env()
        self.config = dataclasses.replace(base, root=base.root.resolve())
        self._progress = progress or _Silent()
        tools = PostgresTools(self.config)
        self.postgres = PostgresPrimary(self.config, tools)
        self.postgres_replica = PostgresReplica(self.config, tools, self.postgres)
        self.valkey = Valkey(self.config)
        self.kafka = Kafka(self.config)
        self.smtp = SmtpServer(self.config)

    @property
    def endpoints(self) -> StackEndpoints:
        return self.config.endpoints

    @property
    def components(self) -> tuple[Component, ...]:
        """In start order; they stop in the reverse order (the replica before the primary)."""
        return (self.postgres, self.postgres_replica, self.valkey, self.kafka, self.smtp)

    @property
    def storage_root(self) -> Path:
        return self.endpoints.storage_root

    def up(self) -> bool:
        """Starts whatever is not running and waits until all is ready.

        Returns True when this call started at least one component; a second `up` finds
        everything running and healthy, leaves it alone and returns False.
        """
        started = False
        with self._lock():
            for component in self.components:
                started |= self._bring_up(component)
            self._progress.step("kafka", "creating topics")
            # Imported late: the stack should come up even while the registry is edited.
            from spotilike.contracts.topics import TOPICS  # noqa: PLC0415

            created = self.kafka.ensure_topics(TOPICS)
            summary = f"{len(created)} topics created" if created else "all topics exist"
            self._progress.done("kafka", summary)
            self.storage_root.mkdir(parents=True, exist_ok=True)
            self._progress.done("storage", str(self.storage_root))
        return started

    def down(self) -> bool:
        """Stops every running component; True when it stopped at least one."""
        with self._lock():
            return self._stop_all()

    def status(self) -> list[ComponentStatus]:
        return [self._status(component) for component in self.components]

    def reset(self) -> None:
        """Stops the stack and deletes its data and logs (the Kafka jar cache is kept)."""
        with self._lock():
            self._stop_all()
            for relative in _DATA:
                path = self.config.root / relative
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
        self._progress.done("stack", f"data under {self.config.root} wiped")

    def log_paths(self) -> dict[str, Path]:
        return {component.name: component.log_path for component in self.components}

    def _bring_up(self, component: Component) -> bool:
        timeout = self.config.start_timeout
        process = component.process()
        if process is not None:
            self._progress.step(component.name, f"running (pid {process.pid}), checking")
            if not wait_until(component.is_ready, timeout=timeout, interval=0.5):
                raise StackError(
                    component.name,
                    f"pid {process.pid} is running but does not answer on port "
                    f"{component.ports[0]}; see {component.log_path}",
                )
            self._progress.done(component.name, f"already running (pid {process.pid})")
            return False
        require_ports_free(component.name, self.config.host, component.ports)
        self._progress.step(component.name, f"starting on port {component.ports[0]}")
        component.start(timeout)
        started = component.process()
        pid = f"pid {started.pid}" if started else "no pid"
        self._progress.done(component.name, f"ready on port {component.ports[0]} ({pid})")
        return True

    def _stop_all(self) -> bool:
        stopped = False
        for component in reversed(self.components):
            if component.process() is None:
                self._progress.done(component.name, "not running")
                continue
            self._progress.step(component.name, "stopping")
            component.stop(_STOP_TIMEOUT)
            stopped = True
            self._progress.done(component.name, "stopped")
        return stopped

    def _status(self, component: Component) -> ComponentStatus:
        port = component.ports[0]
        process = component.process()
        if process is not None:
            state = State.RUNNING if component.is_ready() else State.NOT_READY
            return ComponentStatus(component.name, port, process.pid, state, component.log_path)
        for candidate in component.ports:
            holder = port_holder(self.config.host, candidate)
            if holder is not None:
                return ComponentStatus(
                    component.name,
                    port,
                    None,
                    State.PORT_TAKEN,
                    component.log_path,
                    detail=f"port {candidate} held by {holder}",
                )
        return ComponentStatus(component.name, port, None, State.STOPPED, component.log_path)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialises `up`, `down` and `reset` on one root (two terminals, parallel tests)."""
        run = self.config.root / "run"
        run.mkdir(parents=True, exist_ok=True)
        (self.config.root / "logs").mkdir(parents=True, exist_ok=True)
        with (run / "stack.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
