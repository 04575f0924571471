"""The local stack's SMTP sink: accepts every message and keeps it as an ``.eml`` file.

Built on aiosmtpd. Messages go to ``<stack root>/mail/<id>.eml``, ids sorting by arrival,
so they survive a restart and ``spotilike mail`` (or any mail client that opens ``.eml``
files) can read them. Each file starts with ``Return-Path`` and one ``Delivered-To`` per
recipient, the envelope as an MTA records it, then the message exactly as received.

Run as a stack component (``python -m spotilike.tools.stack.smtp --port 51025 --dir …``),
or in-process with :class:`SmtpSink` (a thread of its own, for tests).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import email.policy
import os
import signal
import smtplib
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import psutil
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from spotilike.tools.stack.config import StackConfig
from spotilike.tools.stack.process import (
    await_ready,
    find_process,
    read_pid,
    spawn,
    stop_tracked,
    write_pid,
)

__all__ = [
    "MODULE",
    "MailStore",
    "SinkHandler",
    "SmtpServer",
    "SmtpSink",
    "StoredMail",
    "smtp_answers",
]

MODULE = "spotilike.tools.stack.smtp"


@dataclass(frozen=True)
class StoredMail:
    id: str
    path: Path
    received_at: datetime

    def message(self) -> EmailMessage:
        with self.path.open("rb") as source:
            parsed = email.message_from_binary_file(source, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def recipients(self) -> list[str]:
        return [str(value) for value in self.message().get_all("Delivered-To", [])]


class MailStore:
    """The folder of kept messages. Written atomically: a reader never sees half a file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, *, mail_from: str, rcpt_tos: list[str], content: bytes) -> StoredMail:
        self.root.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)
        mail_id = f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"
        envelope = f"Return-Path: <{mail_from}>\r\n" + "".join(
            f"Delivered-To: {recipient}\r\n" for recipient in rcpt_tos
        )
        path = self.root / f"{mail_id}.eml"
        partial = self.root / f".{mail_id}.partial"
        partial.write_bytes(envelope.encode() + content)
        os.replace(partial, path)
        return StoredMail(id=mail_id, path=path, received_at=now)

    def all(self) -> list[StoredMail]:
        """Oldest first."""
        if not self.root.is_dir():
            return []
        return [self._stored(path) for path in sorted(self.root.glob("*.eml"))]

    def find(self, mail_id: str) -> StoredMail | None:
        """By id, or by a prefix only one id has."""
        matches = [mail for mail in self.all() if mail.id.startswith(mail_id)]
        return matches[0] if len(matches) == 1 else None

    @staticmethod
    def _stored(path: Path) -> StoredMail:
        stamp = path.stem.split("-", 1)[0]
        try:
            received = datetime.strptime(stamp, "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
        except ValueError:
            received = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        return StoredMail(id=path.stem, path=path, received_at=received)


Reply = Callable[[Envelope], str | None]
"""Decides the answer to DATA: None keeps the message (250), a string is the reply sent
instead (``"451 4.3.0 try later"``). The stack's sink keeps everything; tests script
refusals with it."""


class SinkHandler:
    """The aiosmtpd handler: every message that ends DATA is stored."""

    def __init__(self, store: MailStore, *, reply: Reply | None = None) -> None:
        self.store = store
        self._reply = reply

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self._reply is not None:
            refusal = self._reply(envelope)
            if refusal is not None:
                return refusal
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode()
        await asyncio.to_thread(
            self.store.save,
            mail_from=str(envelope.mail_from),
            rcpt_tos=[str(rcpt) for rcpt in envelope.rcpt_tos],
            content=content,
        )
        return "250 2.0.0 Message kept"


class SmtpSink:
    """An in-process sink on a loopback port, in aiosmtpd's own thread: ``with SmtpSink(…)``."""

    def __init__(
        self, store: MailStore, *, host: str = "127.0.0.1", port: int, reply: Reply | None = None
    ) -> None:
        self.store = store
        self.host = host
        self.port = port
        self.handler = SinkHandler(store, reply=reply)
        self._controller = Controller(
            self.handler, hostname=host, port=port, server_hostname="spotilike-sink"
        )

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._controller.stop()


def smtp_answers(host: str, port: int, *, timeout: float = 2.0) -> bool:
    """Whether an SMTP server greets and answers NOOP on ``host:port``."""
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as client:
            code, _ = client.noop()
    except (OSError, smtplib.SMTPException):
        return False
    return code == 250


class SmtpServer:
    """The stack component: the sink as a detached process of its own."""

    name = "smtp"

    def __init__(self, config: StackConfig) -> None:
        self._config = config
        self.mail_dir = config.root / "mail"
        self._pid_file = config.root / "run" / "smtp.pid"
        self._log_path = config.root / "logs" / "smtp.log"

    @property
    def ports(self) -> tuple[int, ...]:
        return (self._config.smtp_port,)

    @property
    def log_path(self) -> Path:
        return self._log_path

    def process(self) -> psutil.Process | None:
        return find_process(read_pid(self._pid_file), [MODULE, str(self._config.smtp_port)])

    def is_ready(self) -> bool:
        return smtp_answers(self._config.host, self._config.smtp_port)

    def start(self, timeout: float) -> None:
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        pid = spawn(
            [
                sys.executable,
                "-m",
                MODULE,
                "--host",
                self._config.host,
                "--port",
                str(self._config.smtp_port),
                "--dir",
                str(self.mail_dir),
            ],
            log_path=self._log_path,
            cwd=self._config.root,
            env={**os.environ, **self._config.extra_env},
        )
        write_pid(self._pid_file, pid)
        await_ready(self, pid=pid, port=self._config.smtp_port, timeout=timeout)

    def stop(self, timeout: float) -> None:
        stop_tracked(self.process(), self._pid_file, timeout)


async def _serve(host: str, port: int, store: MailStore) -> None:
    loop = asyncio.get_running_loop()
    handler = SinkHandler(store)

    def protocol() -> Any:
        return SMTP(handler, hostname="spotilike-sink", loop=loop)

    server = await loop.create_server(protocol, host, port)
    stopping = asyncio.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stopping.set)
    print(f"SMTP sink on {host}:{port}, keeping mail in {store.root}", flush=True)
    async with server:
        await stopping.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=51025)
    parser.add_argument("--dir", type=Path, required=True, help="where .eml files go")
    arguments = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(arguments.host, arguments.port, MailStore(arguments.dir)))


if __name__ == "__main__":
    main()
