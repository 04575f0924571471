"""The SMTP sink (in-process and as the stack's process) and `spotilike mail`."""

from __future__ import annotations

import smtplib
import socket
from email.message import EmailMessage
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spotilike.tools.cli import app
from spotilike.tools.stack.component import State
from spotilike.tools.stack.config import StackConfig
from spotilike.tools.stack.manager import Stack
from spotilike.tools.stack.smtp import MailStore, SmtpServer, SmtpSink, smtp_answers

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def reset_email(to: str, link: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Spotilike <no-reply@spotilike.dev>"
    message["To"] = to
    message["Subject"] = "Reset your Spotilike password"
    message.set_content(f"Choose a new password:\n{link}\n")
    message.add_alternative(
        f'<p><a href="{link.replace("&", "&amp;")}">Choose</a> or '
        '<a href="http://localhost:8080/help">get help</a></p>',
        subtype="html",
    )
    return message


def send(port: int, message: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)


def test_the_sink_keeps_each_message_with_its_envelope(tmp_path: Path) -> None:
    store = MailStore(tmp_path / "mail")
    port = free_port()
    with SmtpSink(store, port=port):
        send(port, reset_email("ada@example.com", "http://localhost:8080/reset?token=1"))
        send(port, reset_email("bob@example.com", "http://localhost:8080/reset?token=2"))
    first, second = store.all()
    assert first.id < second.id
    assert first.recipients == ["ada@example.com"]
    assert first.message()["Subject"] == "Reset your Spotilike password"
    assert first.path.read_bytes().startswith(b"Return-Path: <no-reply@spotilike.dev>\r\n")
    assert store.find(second.id[:-3]) == second
    assert list((tmp_path / "mail").glob(".*")) == []


def test_mail_list_and_show_print_the_link_to_open(tmp_path: Path) -> None:
    root = tmp_path / "stack"
    store = MailStore(root / "mail")
    port = free_port()
    link = "http://localhost:8080/reset-password?token=abc&x=1"
    with SmtpSink(store, port=port):
        send(port, reset_email("ada@example.com", link))
        send(port, reset_email("bob@example.com", "http://localhost:8080/reset-password?token=b"))
    runner = CliRunner()

    listed = runner.invoke(app, ["mail", "list", "--root", str(root)])
    assert listed.exit_code == 0, listed.output
    ids = [mail.id for mail in store.all()]
    ada, bob = (mail_id.rsplit("-", 1)[1] for mail_id in ids)
    assert listed.output.index(bob) < listed.output.index(ada)  # newest first
    only_ada = runner.invoke(app, ["mail", "list", "--to", "ada@example.com", "--root", str(root)])
    assert ada in only_ada.output
    assert bob not in only_ada.output

    links = runner.invoke(
        app, ["mail", "show", "latest", "--to", "ada@example.com", "--links", "--root", str(root)]
    )
    assert links.exit_code == 0, links.output
    assert links.output.splitlines() == [link, "http://localhost:8080/help"]

    shown = runner.invoke(app, ["mail", "show", ids[1], "--root", str(root)])
    assert "To: bob@example.com" in shown.output
    assert "token=b" in shown.output

    missing = runner.invoke(app, ["mail", "show", "nope", "--root", str(root)])
    assert missing.exit_code == 1
    empty = runner.invoke(app, ["mail", "list", "--root", str(tmp_path / "none")])
    assert "No mail" in empty.output


def test_the_stack_sink_runs_as_a_process_and_mail_survives_a_restart(tmp_path: Path) -> None:
    config = StackConfig(root=tmp_path / "stack", smtp_port=free_port())
    (config.root / "run").mkdir(parents=True)
    (config.root / "logs").mkdir()
    sink = SmtpServer(config)
    assert sink.process() is None
    sink.start(timeout=60)
    try:
        assert sink.process() is not None
        send(config.smtp_port, reset_email("ada@example.com", "http://localhost:8080/r?t=1"))
        sink.stop(timeout=30)
        assert sink.process() is None
        assert not smtp_answers("127.0.0.1", config.smtp_port, timeout=1)
        sink.start(timeout=60)
        [kept] = MailStore(config.root / "mail").all()
        assert kept.recipients == ["ada@example.com"]
        status = {row.name: row.state for row in Stack(config).status()}
        assert status["smtp"] == State.RUNNING
    finally:
        sink.stop(timeout=30)
