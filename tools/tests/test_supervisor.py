"""The platform supervisor with real child processes: staged start, readiness, restart
after a crash, a clear failure for a process that never comes up, clean stop."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from spotilike.tools.platform.processes import ProcessSpec
from spotilike.tools.platform.supervisor import PlatformNotReady, Supervisor, platform_state

pytestmark = pytest.mark.integration

# A stand-in service: answers 200 on every path once it listens; the port comes from argv.
SERVICE = """
import http.server, sys
class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args): pass
print("serving", flush=True)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Ok).serve_forever()
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def service(name: str, port: int, stage: int) -> ProcessSpec:
    return ProcessSpec(name, (sys.executable, "-c", SERVICE, str(port)), port, stage=stage)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_starts_in_stages_restarts_a_crashed_child_and_stops_everything(
    tmp_path: Path,
) -> None:
    events: list[tuple[str, str]] = []
    specs = [
        service("registry", free_port(), 0),
        service("api", free_port(), 1),
        ProcessSpec("worker", (sys.executable, "-c", "import time; time.sleep(600)"), None),
        service("edge", free_port(), 2),
    ]
    supervisor = Supervisor(
        specs, root=tmp_path, cwd=tmp_path, on_event=lambda n, m: events.append((n, m))
    )
    try:
        await supervisor.start(ready_seconds=60)
        ready = [name for name, message in events if message.startswith(("ready", "running"))]
        assert ready[0] == "registry"
        assert ready[-1] == "edge"
        assert platform_state(tmp_path) is not None
        first = supervisor.pids()["api"]
        assert first is not None

        os.kill(first, signal.SIGKILL)
        for _ in range(100):
            replaced = supervisor.pids()["api"]
            if replaced not in (None, first):
                break
            await asyncio.sleep(0.1)
        assert replaced not in (None, first)
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                try:
                    if (await http.get(f"http://127.0.0.1:{specs[1].port}/")).status_code == 200:
                        break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
            else:
                pytest.fail("the restarted child never answered")
        assert any(name == "api" and "restarting" in message for name, message in events)
    finally:
        pids = [pid for pid in supervisor.pids().values() if pid is not None]
        await supervisor.stop()
    assert not any(alive(pid) for pid in pids)
    assert platform_state(tmp_path) is None


async def test_a_child_that_never_gets_ready_is_named_with_its_log(tmp_path: Path) -> None:
    broken = ProcessSpec(
        "broken",
        (sys.executable, "-c", "import sys; print('no database here'); sys.exit(3)"),
        free_port(),
    )
    supervisor = Supervisor([broken], root=tmp_path, cwd=tmp_path)
    try:
        with pytest.raises(PlatformNotReady) as failure:
            await supervisor.start(ready_seconds=60)
    finally:
        await supervisor.stop()
    assert list(failure.value.failures) == ["broken"]
    assert "no database here" in failure.value.failures["broken"]
