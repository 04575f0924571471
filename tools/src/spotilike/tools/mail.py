"""``spotilike mail``: read what the local stack's SMTP sink kept.

Every email the services send locally lands in ``<stack root>/mail/`` (see
:mod:`spotilike.tools.stack.smtp`); ``spotilike mail list`` shows them newest first and
``spotilike mail show latest --links`` prints the reset or verification link to open.
"""

from __future__ import annotations

import html
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from spotilike.tools.stack.config import StackConfig
from spotilike.tools.stack.smtp import MailStore, StoredMail

__all__ = ["links_in", "mail_app"]

mail_app = typer.Typer(
    help="The emails the local SMTP sink kept (sent by services running against the stack).",
    no_args_is_help=True,
)

console = Console()
errors = Console(stderr=True)

RootOption = Annotated[
    Path | None,
    typer.Option(
        "--root",
        help="The stack's data folder [default: $SPOTILIKE_STACK_DIR or ./.spotilike]",
        file_okay=False,
    ),
]

_LINK = re.compile(r"""https?://[^\s<>"')]+""")
_HREF = re.compile(r"""href\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


def _store(root: Path | None) -> MailStore:
    return MailStore(StackConfig.from_env(root).root / "mail")


def _part(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or not isinstance(part, EmailMessage):
        return None
    content = part.get_content()
    return content if isinstance(content, str) else None


def links_in(message: EmailMessage) -> list[str]:
    """Every http(s) link of the message, in order, once each: the text part's, then the
    HTML part's hrefs (unescaped), so a link only the HTML has is not missed."""
    found: list[str] = []
    text = _part(message, "plain") or ""
    found.extend(_LINK.findall(text))
    markup = _part(message, "html") or ""
    found.extend(html.unescape(href) for href in _HREF.findall(markup))
    return [
        link
        for index, link in enumerate(found)
        if link.startswith("http") and link not in found[:index]
    ]


def _matching(store: MailStore, to: str | None) -> list[StoredMail]:
    mails = store.all()
    if to is not None:
        wanted = to.lower()
        mails = [m for m in mails if any(r.lower() == wanted for r in m.recipients)]
    return mails


@mail_app.command("list")
def list_mail(
    to: Annotated[str | None, typer.Option("--to", help="Only mail to this address")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many")] = 20,
    root: RootOption = None,
) -> None:
    """The kept emails, newest first: id, time, recipient, subject."""
    store = _store(root)
    mails = list(reversed(_matching(store, to)))[:limit]
    if not mails:
        console.print(f"No mail in {store.root}.", highlight=False)
        return
    table = Table(title=f"Mail kept in {store.root}")
    table.add_column("id", no_wrap=True)
    table.add_column("received (UTC)", no_wrap=True)
    table.add_column("to")
    table.add_column("subject", overflow="fold")
    for mail in mails:
        message = mail.message()
        table.add_row(
            mail.id,
            f"{mail.received_at:%Y-%m-%d %H:%M:%S}",
            ", ".join(mail.recipients) or str(message.get("To", "")),
            str(message.get("Subject", "")),
        )
    console.print(table)


@mail_app.command()
def show(
    mail_id: Annotated[
        str,
        typer.Argument(
            help="An id from `spotilike mail list` (a unique prefix is enough), or 'latest'"
        ),
    ] = "latest",
    *,
    to: Annotated[
        str | None, typer.Option("--to", help="With 'latest': the latest to this address")
    ] = None,
    links: Annotated[
        bool, typer.Option("--links", help="Print only the links, one a line")
    ] = False,
    as_html: Annotated[bool, typer.Option("--html", help="Print the HTML part")] = False,
    raw: Annotated[bool, typer.Option("--raw", help="Print the whole message as kept")] = False,
    root: RootOption = None,
) -> None:
    """One email: its headers and plain-text part (or its links, HTML or raw source)."""
    store = _store(root)
    if mail_id == "latest":
        mails = _matching(store, to)
        mail = mails[-1] if mails else None
    else:
        mail = store.find(mail_id)
    if mail is None:
        errors.print(f"no single mail matches {mail_id!r} in {store.root}", highlight=False)
        raise typer.Exit(1)
    if raw:
        typer.echo(mail.path.read_bytes().decode("utf-8", errors="replace"))
        return
    message = mail.message()
    if links:
        for link in links_in(message):
            typer.echo(link)
        return
    for header in ("From", "To", "Subject", "Date", "Content-Language", "List-Unsubscribe"):
        if message.get(header) is not None:
            typer.echo(f"{header}: {message[header]}")
    typer.echo(f"File: {mail.path}")
    typer.echo("")
    body = _part(message, "html" if as_html else "plain")
    typer.echo(body if body is not None else "(no such part)")
