"""The platform for the journey tests: started the way a developer starts it.

``platform`` runs ``spotilike up`` (the real supervisor, every service, the web player and
a two-track demo seed) once per session, or reuses a platform that is already running,
and talks to it only through the gateway. The gateway's per-IP limit is raised for the
session: every journey comes from 127.0.0.1, and the limit itself is tested elsewhere.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from spotilike.tools.demo.seed import DemoAccounts, seeded_accounts
from spotilike.tools.mail import links_in
from spotilike.tools.platform.supervisor import platform_state
from spotilike.tools.stack.config import StackConfig, StackEndpoints
from spotilike.tools.stack.smtp import MailStore

REPOSITORY = Path(__file__).resolve().parents[2]
GATEWAY = "http://127.0.0.1:8080"
START_SECONDS = 900.0
CLIENT_HEADERS = {"User-Agent": "spotilike-e2e/1.0", "Accept-Language": "en"}
"""Our journeys name themselves; a generic library's user agent would be challenged by
the sign-up risk checks, exactly as intended for unknown scripts."""


PASSWORD = "a long journey password"


async def sign_up(http: httpx.AsyncClient, email: str) -> tuple[str, str]:
    """(user id, access token) of a new account, signed up as the web player does."""
    form = (await http.get("/auth/form-token")).json()["form_token"]
    await asyncio.sleep(2.2)  # the sign-up risk checks want a form filled by a person
    response = await http.post(
        "/auth/register",
        json={"email": email, "password": PASSWORD, "display_name": "Journey", "form_token": form},
        headers={"X-Device-Fingerprint": uuid.uuid4().hex},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return body["user"]["id"], body["tokens"]["access_token"]


async def log_in(http: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    form = (await http.get("/auth/form-token")).json()["form_token"]
    response = await http.post(
        "/auth/login", json={"email": email, "password": password, "form_token": form}
    )
    assert response.status_code == 200, response.text
    tokens: dict[str, str] = response.json()
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class Platform:
    base_url: str
    root: Path
    endpoints: StackEndpoints
    accounts: DemoAccounts

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=60.0, headers=CLIENT_HEADERS)

    def mail_to(self, address: str) -> list[EmailMessage]:
        assert self.endpoints.mail_root is not None
        store = MailStore(self.endpoints.mail_root)
        return [
            mail.message()
            for mail in store.all()
            if address.lower() in (r.lower() for r in mail.recipients)
        ]


def link_in_mail(platform: Platform, address: str, pattern: str, *, seconds: float = 60) -> str:
    """The first link matching ``pattern`` in mail to ``address``, waiting for it to arrive."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for message in platform.mail_to(address):
            for link in links_in(message):
                if re.search(pattern, link):
                    return link
        time.sleep(0.5)
    raise AssertionError(f"no mail to {address} with a link matching {pattern!r}")


def _gateway_ready() -> bool:
    try:
        return httpx.get(f"{GATEWAY}/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def platform(stack: StackEndpoints) -> Iterator[Platform]:
    config = StackConfig.from_env()
    root = config.root
    process = None
    if platform_state(root) is None:
        argv = [
            str(Path(sys.executable).with_name("spotilike")),
            "up",
            "--keep-stack",
            "--demo-tracks",
            "2",
        ]
        if shutil.which("npm") is None:
            argv.append("--no-web")
        env = {
            **os.environ,
            "SPOTILIKE_GATEWAY_RATE_LIMITS": json.dumps(
                {"default": "100000/minute", "auth": "100000/minute"}
            ),
        }
        (root / "logs").mkdir(parents=True, exist_ok=True)
        log_path = root / "logs" / "e2e-platform.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                argv,
                cwd=REPOSITORY,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_SECONDS
        while seeded_accounts(root) is None or not _gateway_ready():
            if process.poll() is not None:
                raise RuntimeError(
                    f"`spotilike up` exited with {process.returncode}; see {log_path}:\n"
                    + log_path.read_text(errors="replace")[-4000:]
                )
            if time.monotonic() > deadline:
                process.send_signal(signal.SIGTERM)
                raise RuntimeError(f"the platform was not up after {START_SECONDS} s; {log_path}")
            time.sleep(1.0)
    accounts = seeded_accounts(root)
    assert accounts is not None
    try:
        yield Platform(base_url=GATEWAY, root=root, endpoints=stack, accounts=accounts)
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
