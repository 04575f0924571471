"""What the bench scripts measure with: a free loopback port, a process's (or a process
tree's) CPU time, a percentile in milliseconds, and the end of a server's log for an error
message."""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
from pathlib import Path

__all__ = [
    "child_pids",
    "cpu_seconds",
    "free_port",
    "log_tail",
    "percentile_ms",
    "tree_cpu_seconds",
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, all threads) of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as stat:
        # Fields after the command name, which is in parentheses and may hold spaces.
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pids(pid: int) -> list[int]:
    """The direct children of ``pid`` (nginx's workers, granian's worker processes)."""
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in listed.split()]


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and its direct children so far; one that exited counts nothing
    more."""
    total = 0.0
    for member in (pid, *child_pids(pid)):
        with contextlib.suppress(OSError):
            total += cpu_seconds(member)
    return total


def percentile_ms(samples: list[float], percent: int) -> float:
    if len(samples) < 2:
        return samples[0] * 1000 if samples else float("nan")
    return statistics.quantiles(samples, n=100, method="inclusive")[percent - 1] * 1000


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
