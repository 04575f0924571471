"""Starting, finding and stopping the stack's server processes.

Each server runs detached from the command that started it (its own session), so
`spotilike stack up` returns while the servers keep running. We find them again through
pid files and check that the pid still belongs to *our* server by looking at its command
line: a pid file left behind by a crash may name a pid the kernel has since reused.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from spotilike.tools.stack.errors import StackError

if TYPE_CHECKING:
    from spotilike.tools.stack.component import Component

__all__ = [
    "SystemUser",
    "await_ready",
    "find_process",
    "port_holder",
    "read_pid",
    "require_ports_free",
    "spawn",
    "stop_process",
    "stop_tracked",
    "tail",
    "wait_until",
    "write_pid",
]


@dataclass(frozen=True)
class SystemUser:
    """The unprivileged account a server runs as when we are root."""

    name: str
    uid: int
    gid: int

    @classmethod
    def ensure(cls, name: str) -> SystemUser:
        """Creates the system account on first use (needs root, which is why we are here)."""
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            result = subprocess.run(  # noqa: S603 - fixed argv, no shell
                [  # noqa: S607 - useradd is wherever the system keeps it
                    "useradd",
                    "--system",
                    "--user-group",
                    "--no-create-home",
                    "--home-dir",
                    "/nonexistent",
                    "--shell",
                    "/usr/sbin/nologin",
                    name,
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise StackError(
                    "postgres",
                    f"running as root, and creating the system user {name!r} failed: "
                    f"{result.stderr.strip()}",
                ) from None
            entry = pwd.getpwnam(name)
        return cls(name=name, uid=entry.pw_uid, gid=entry.pw_gid)

    def own(self, *paths: Path) -> None:
        for path in paths:
            os.chown(path, self.uid, self.gid)

    def make_reachable(self, path: Path) -> None:
        """Lets this user traverse every directory above ``path`` (adds o+x, never o+r).

        A pytest tmp_path lives under a 0700 directory owned by root; PostgreSQL's data
        directory under it would otherwise be unreachable for the server's own user.
        """
        for parent in path.resolve().parents:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)


def read_pid(path: Path) -> int | None:
    try:
        first_line = path.read_text().split("\n", 1)[0].strip()
    except (FileNotFoundError, PermissionError):
        return None
    return int(first_line) if first_line.isdigit() else None


def write_pid(path: Path, pid: int) -> None:
    path.write_text(f"{pid}\n")


def find_process(pid: int | None, markers: Sequence[str]) -> psutil.Process | None:
    """The live process ``pid`` if its command line contains every marker, else None."""
    if pid is None:
        return None
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        cmdline = " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    if all(marker in cmdline for marker in markers):
        return process
    return None


def port_holder(host: str, port: int) -> str | None:
    """None when ``port`` is free on ``host``, otherwise who holds it, as far as we can tell.

    Binds with SO_REUSEADDR like the servers themselves do, so a port that only has
    connections in TIME_WAIT counts as free.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            pass
        else:
            return None
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.pid is not None:
                with contextlib.suppress(psutil.Error):
                    name = psutil.Process(conn.pid).name()
                    return f"pid {conn.pid} ({name})"
                return f"pid {conn.pid}"
    except psutil.AccessDenied:
        pass
    return "another process"


def require_ports_free(component: str, host: str, ports: Sequence[int]) -> None:
    for port in ports:
        holder = port_holder(host, port)
        if holder is not None:
            raise StackError(
                component,
                f"port {host}:{port} is already in use by {holder}; stop it or choose "
                "another port (see StackConfig / the SPOTILIKE_*_PORT variables)",
            )


def spawn(
    argv: Sequence[str],
    *,
    log_path: Path,
    cwd: Path,
    env: dict[str, str] | None = None,
) -> int:
    """Starts ``argv`` in its own session, output appended to ``log_path``; returns its pid.

    A daemon thread waits on the child: it reaps it if it dies while we are still running
    (no zombie that would look alive), and keeps the Popen object referenced so Python
    does not warn about a child that is, by design, still running.
    """
    with log_path.open("ab") as log:
        child = subprocess.Popen(  # noqa: S603 - argv built by us, no shell
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
    threading.Thread(target=child.wait, name=f"reap-{child.pid}", daemon=True).start()
    return child.pid


def stop_process(process: psutil.Process, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it is still there after ``timeout`` seconds."""
    with contextlib.suppress(psutil.NoSuchProcess):
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except psutil.TimeoutExpired:
            process.kill()
            process.wait(10)


def wait_until(check: Callable[[], bool], *, timeout: float, interval: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def tail(path: Path, lines: int = 20) -> str:
    try:
        with path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            size = log.tell()
            log.seek(max(0, size - 64 * 1024))
            text = log.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def await_ready(
    component: Component, *, pid: int, port: int, timeout: float, interval: float = 0.25
) -> None:
    """Waits until a just-spawned server answers; a crash or a time-out quotes its log.

    Liveness is the spawned pid's, not ``component.process()``: between fork and exec
    the child's command line is still ours, so the marker check would call a server that
    is merely starting (slowly, on a loaded machine) dead.
    """

    def ready_or_dead() -> bool:
        return not _alive(pid) or component.is_ready()

    if not wait_until(ready_or_dead, timeout=timeout, interval=interval) or not _alive(pid):
        raise StackError(
            component.name,
            f"did not become ready on port {port}"
            f"\n--- {component.log_path} ---\n{tail(component.log_path)}",
        )


def stop_tracked(process: psutil.Process | None, pid_file: Path, timeout: float) -> None:
    """Stops a server we spawned (if it still runs) and forgets its pid."""
    if process is not None:
        stop_process(process, timeout)
    pid_file.unlink(missing_ok=True)
