"""Several gateway processes on one port, each listening on a socket of its own.

Why not uvicorn's ``--workers``: its workers share one listening socket, and the event
loop that wakes first accepts every connection waiting (libuv accepts until the queue is
empty). After the bench's one-connection phase, one of two workers took all 32
connections of the next phase and the other idled (3.9 s of CPU against 0.01 s in 4 s),
so two processes served no more than one (docs/benchmarks.md). With
``SO_REUSEPORT`` the kernel spreads new connections over the workers' sockets.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as EventType
from types import FrameType
from typing import Final

import structlog
import uvicorn
from uvicorn.config import STARTUP_FAILURE

__all__ = ["run_workers"]

_log = structlog.get_logger(__name__)

_STOP_SECONDS: Final = 30.0


def _listener(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((host, port))
    return listener


class _WorkerServer(uvicorn.Server):
    """uvicorn's server, telling the supervisor once it serves."""

    def __init__(self, config: uvicorn.Config, ready: EventType) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._ready.set()


def _serve_worker(config: uvicorn.Config, ready: EventType) -> None:
    """One worker process: its own socket, then uvicorn's server on it."""
    listener = _listener(config.host, config.port)
    _WorkerServer(config, ready).run(sockets=[listener])


class _Supervisor:
    def __init__(self, config: uvicorn.Config, count: int) -> None:
        self._config = config
        self._count = count
        self._context = multiprocessing.get_context("spawn")
        self._stopping = False
        self._workers: list[tuple[BaseProcess, EventType]] = []

    def run(self) -> int:
        # The port is checked once here, so a taken port is one clear error rather than
        # every worker failing on its own.
        try:
            _listener(self._config.host, self._config.port).close()
        except OSError as exc:
            sys.exit(
                f"The gateway cannot listen on {self._config.host}:{self._config.port}: {exc}. "
                "Free the port or set SPOTILIKE_GATEWAY_PORT."
            )
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)
        self._workers = [self._start() for _ in range(self._count)]
        while not self._stopping:
            wait([process.sentinel for process, _ in self._workers], timeout=0.5)
            if self._stopping:
                break
            for index, (process, ready) in enumerate(self._workers):
                if process.is_alive():
                    continue
                if not ready.is_set():
                    # Starting it again would only fail again: the gateway stops, and
                    # the worker's own log says why.
                    _log.error("gateway_worker_failed_to_start", exitcode=process.exitcode)
                    self._stop_all()
                    return STARTUP_FAILURE
                _log.warning("gateway_worker_died", exitcode=process.exitcode)
                self._workers[index] = self._start()
        self._stop_all()
        return 0

    def _start(self) -> tuple[BaseProcess, EventType]:
        ready = self._context.Event()
        process = self._context.Process(target=_serve_worker, args=(self._config, ready))
        process.start()
        return process, ready

    def _stop(self, _signum: int, _frame: FrameType | None) -> None:
        self._stopping = True

    def _stop_all(self) -> None:
        """SIGTERM each worker (uvicorn's graceful shutdown), then wait for them."""
        for process, _ in self._workers:
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + _STOP_SECONDS
        for process, _ in self._workers:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()


def run_workers(config: uvicorn.Config, count: int) -> None:
    """Runs ``count`` worker processes until SIGTERM or SIGINT, restarting one that dies;
    exits with uvicorn's startup-failure code when one dies while starting."""
    code = _Supervisor(config, count).run()
    if code:
        sys.exit(code)
