"""Running the platform's processes: start in order, wait for readiness, restart what
crashes, stop everything in reverse order.

Each child runs in its own session with its output appended to
``.spotilike/logs/<name>.log``, so a Ctrl-C at the terminal reaches only the supervisor,
which then stops the children itself, gateway first, so no request meets a half-stopped
platform. A child that exits while the platform is up is restarted after a back-off that
doubles up to 30 s and resets once the child has stayed up for a minute. The supervisor
writes what it runs to ``.spotilike/platform.json`` for ``spotilike status`` and
``spotilike down``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from spotilike.tools.platform.processes import ProcessSpec
from spotilike.tools.stack.process import tail

__all__ = [
    "PlatformNotReady",
    "Supervisor",
    "platform_state",
    "state_path",
]

STABLE_SECONDS = 60.0
MAX_BACKOFF_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 15.0


class PlatformNotReady(Exception):  # noqa: N818 - names the state the platform is in
    """Some processes did not become ready; ``failures`` maps each to its log's tail."""

    def __init__(self, failures: dict[str, str]) -> None:
        super().__init__(", ".join(failures))
        self.failures = failures


def state_path(root: Path) -> Path:
    return root / "platform.json"


def platform_state(root: Path) -> dict[str, object] | None:
    """What a running supervisor wrote, or None when none is running."""
    try:
        state: dict[str, object] = json.loads(state_path(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pid = state.get("supervisor_pid")
    if not isinstance(pid, int) or not _alive(pid):
        return None
    return state


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class _Child:
    spec: ProcessSpec
    process: asyncio.subprocess.Process | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = 1.0
    watcher: asyncio.Task[None] | None = field(default=None, repr=False)


class Supervisor:
    def __init__(
        self,
        specs: Sequence[ProcessSpec],
        *,
        root: Path,
        cwd: Path,
        on_event: Callable[[str, str], None] = lambda name, message: None,
    ) -> None:
        self._children = [_Child(spec) for spec in specs]
        self._root = root
        self._cwd = cwd
        self._logs = root / "logs"
        self._on_event = on_event
        self._stopping = False

    @property
    def names(self) -> list[str]:
        return [child.spec.name for child in self._children]

    def log_path(self, name: str) -> Path:
        return self._logs / f"{name}.log"

    async def start(self, *, ready_seconds: float = 180.0) -> None:
        """Starts the processes stage by stage, each stage's together, the next once all of
        them are ready.

        Raises :class:`PlatformNotReady` naming every process that did not come up, with the
        end of its log; the ones that did keep running until :meth:`stop`.
        """
        self._logs.mkdir(parents=True, exist_ok=True)
        failures: dict[str, str] = {}
        for stage in sorted({child.spec.stage for child in self._children}):
            members = [child for child in self._children if child.spec.stage == stage]
            for child in members:
                await self._spawn(child)
                child.watcher = asyncio.create_task(
                    self._watch(child), name=f"watch-{child.spec.name}"
                )
            ready = await asyncio.gather(
                *(self._wait_ready(child, ready_seconds) for child in members)
            )
            for child, ok in zip(members, ready, strict=True):
                if not ok:
                    failures[child.spec.name] = tail(self.log_path(child.spec.name), 30)
            if failures:
                break
        self._write_state()
        if failures:
            raise PlatformNotReady(failures)

    async def stop(self) -> None:
        self._stopping = True
        for child in reversed(self._children):
            if child.watcher is not None:
                child.watcher.cancel()
            await self._terminate(child)
        with contextlib.suppress(FileNotFoundError):
            state_path(self._root).unlink()

    def pids(self) -> dict[str, int | None]:
        return {
            child.spec.name: child.process.pid if child.process is not None else None
            for child in self._children
        }

    async def _spawn(self, child: _Child) -> None:
        spec = child.spec
        self._on_event(spec.name, "starting")
        log = self.log_path(spec.name).open("ab")
        try:
            child.process = await asyncio.create_subprocess_exec(
                *spec.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                cwd=self._cwd,
                env={**os.environ, **spec.env},
                start_new_session=True,
            )
        finally:
            log.close()
        child.started_at = time.monotonic()

    async def _wait_ready(self, child: _Child, wait_seconds: float) -> bool:
        url = child.spec.health_url
        deadline = time.monotonic() + wait_seconds
        async with httpx.AsyncClient(timeout=2.0) as http:
            while time.monotonic() < deadline:
                process = child.process
                if child.restarts >= 2:
                    return False
                if url is None:
                    # A worker is ready when it has stayed up for a moment.
                    if process is not None and process.returncode is None:
                        await asyncio.sleep(2.0)
                        if process.returncode is None:
                            self._on_event(child.spec.name, "running")
                            return True
                else:
                    with contextlib.suppress(httpx.HTTPError):
                        if (await http.get(url)).status_code == 200:
                            self._on_event(child.spec.name, f"ready on :{child.spec.port}")
                            return True
                await asyncio.sleep(0.5)
        self._on_event(child.spec.name, f"not ready after {wait_seconds:.0f} s")
        return False

    async def _watch(self, child: _Child) -> None:
        while not self._stopping:
            process = child.process
            if process is None:
                return
            code = await process.wait()
            if self._stopping:
                return
            if time.monotonic() - child.started_at > STABLE_SECONDS:
                child.backoff = 1.0
            self._on_event(
                child.spec.name, f"exited with {code}; restarting in {child.backoff:.0f} s"
            )
            await asyncio.sleep(child.backoff)
            child.backoff = min(child.backoff * 2, MAX_BACKOFF_SECONDS)
            child.restarts += 1
            await self._spawn(child)
            self._write_state()

    async def _terminate(self, child: _Child) -> None:
        process = child.process
        if process is None or process.returncode is not None:
            return
        self._on_event(child.spec.name, "stopping")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()

    def _write_state(self) -> None:
        state = {
            "supervisor_pid": os.getpid(),
            "processes": {
                child.spec.name: {
                    "pid": child.process.pid if child.process is not None else None,
                    "port": child.spec.port,
                    "restarts": child.restarts,
                    "log": str(self.log_path(child.spec.name)),
                }
                for child in self._children
            },
        }
        path = state_path(self._root)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2), encoding="utf-8")
        temporary.replace(path)
