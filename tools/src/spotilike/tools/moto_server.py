"""A pytest plugin with moto's server: S3 (and SES, and the rest of AWS) on loopback.

``moto_server`` runs ``python -m moto.server`` as a child process on a free port for the
whole session, so its memory and threads stay out of the test process; tests that only
create their own buckets share it. ``running_moto(folder)`` starts a private one, for
tests that read moto's whole state back (``/moto-api/data.json`` fails once another
test's S3 objects are in it).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["MotoServer", "moto_server", "running_moto"]


@dataclass(frozen=True)
class MotoServer:
    endpoint_url: str
    access_key: str = "moto-access-key"
    secret_key: str = "moto-secret-key"  # noqa: S105 - moto accepts any key
    region: str = "us-east-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_serving(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto server did not answer on {url} within 30 s; see {log}")


@contextmanager
def running_moto(folder: Path) -> Iterator[MotoServer]:
    """A moto server of its own on a free loopback port, its log in ``folder``."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / "moto.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our interpreter, a fixed module
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_serving(process, url, log)
        yield MotoServer(endpoint_url=url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with running_moto(tmp_path_factory.mktemp("moto")) as server:
        yield server
