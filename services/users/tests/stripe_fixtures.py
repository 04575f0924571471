"""A localstripe server for the tests that talk to Stripe.

localstripe's own entry point (``python -m localstripe --port N``) listens on every
interface (``::``), and it pickles its whole store to the fixed path
/tmp/localstripe.pickle after every write and loads that file again at start, so two
sessions on one machine would share and overwrite each other's customers. Run as
``python stripe_fixtures.py PORT``, this module serves the same localstripe app on
127.0.0.1 only, with the store kept in memory.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

__all__ = ["LocalStripe", "localstripe"]

_STARTUP_SECONDS = 30


@dataclass(frozen=True)
class LocalStripe:
    api_base: str
    api_key: str = "sk_test_spotilike_localstripe"
    """localstripe accepts any key that starts with ``sk_`` and refuses every other one."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(server: LocalStripe) -> bool:
    request = urllib.request.Request(
        f"{server.api_base}/v1/customers?limit=1",
        headers={"Authorization": f"Bearer {server.api_key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def localstripe() -> Iterator[LocalStripe]:
    """A localstripe server on 127.0.0.1, started for the session and stopped after it."""
    port = _free_port()
    server = LocalStripe(api_base=f"http://127.0.0.1:{port}")
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            [sys.executable, __file__, str(port)],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + _STARTUP_SECONDS
            while not _answers(server):
                if process.poll() is not None:
                    output.seek(0)
                    raise RuntimeError(
                        f"localstripe exited with status {process.returncode}:\n"
                        + output.read().decode(errors="replace")
                    )
                if time.monotonic() > deadline:
                    raise RuntimeError(f"localstripe did not answer within {_STARTUP_SECONDS} s")
                time.sleep(0.05)
            yield server
        finally:
            _stop(process)


def _serve(port: int) -> None:
    from aiohttp import web
    from localstripe import resources, server  # type: ignore[import-untyped]

    def keep_in_memory(store: object) -> None:
        pass

    resources.Store.dump_to_disk = keep_in_memory
    web.run_app(server.app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
