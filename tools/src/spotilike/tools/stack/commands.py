"""`spotilike stack ...`: the local infrastructure from the command line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.status import Status
from rich.table import Table

from spotilike.tools.stack.component import State
from spotilike.tools.stack.config import StackConfig
from spotilike.tools.stack.errors import StackError
from spotilike.tools.stack.manager import Stack
from spotilike.tools.stack.process import tail

__all__ = ["stack_app"]

stack_app = typer.Typer(
    help="The local infrastructure: PostgreSQL primary + replica, Valkey, Kafka, storage, mail.",
    no_args_is_help=True,
)

console = Console()
errors = Console(stderr=True)

_STATE_STYLE = {
    State.RUNNING: "green",
    State.NOT_READY: "yellow",
    State.STOPPED: "dim",
    State.PORT_TAKEN: "red",
}

RootOption = Annotated[
    Path | None,
    typer.Option(
        "--root",
        help="Where the stack keeps its data [default: $SPOTILIKE_STACK_DIR or ./.spotilike]",
        file_okay=False,
    ),
]


class ConsoleProgress:
    """A spinner on a terminal; plain lines otherwise, so CI logs stay readable."""

    def __init__(self, out: Console, status: Status | None) -> None:
        self._out = out
        self._status = status

    def step(self, component: str, message: str) -> None:
        if self._status is not None:
            self._status.update(f"{component}: {message}")
        else:
            self._out.print(f"  {component}: {message}", soft_wrap=True)

    def done(self, component: str, message: str) -> None:
        self._out.print(f"[green]✓[/] {component}: {message}", soft_wrap=True)


@contextmanager
def _progress(title: str) -> Iterator[ConsoleProgress]:
    if console.is_terminal:
        with console.status(title) as status:
            yield ConsoleProgress(console, status)
    else:
        console.print(title)
        yield ConsoleProgress(console, None)


@contextmanager
def _failing_cleanly() -> Iterator[None]:
    try:
        yield
    except StackError as error:
        errors.print(f"[red]✗ {error}[/]", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _stack(root: Path | None, progress: ConsoleProgress | None = None) -> Stack:
    return Stack(StackConfig.from_env(root), progress=progress)


@stack_app.command()
def up(root: RootOption = None) -> None:
    """Start every component that is not running and wait until all are ready."""
    with _failing_cleanly(), _progress("Starting the local stack") as progress:
        stack = _stack(root, progress)
        started = stack.up()
    console.print("Stack is up." if started else "Stack was already up; nothing to do.")
    endpoints = stack.endpoints
    console.print(f"  postgres  {endpoints.postgres_dsn}", highlight=False)
    console.print(f"  replica   {endpoints.postgres_replica_dsn}", highlight=False)
    console.print(f"  valkey    {endpoints.redis_url}", highlight=False)
    console.print(f"  kafka     {endpoints.kafka_bootstrap}", highlight=False)
    console.print(f"  storage   {endpoints.storage_root}", highlight=False)
    smtp = f"{endpoints.smtp_host}:{endpoints.smtp_port}"
    console.print(f"  smtp      {smtp}, mail kept in {endpoints.mail_root}", highlight=False)


@stack_app.command()
def down(root: RootOption = None) -> None:
    """Stop every component cleanly; the data stays."""
    with _failing_cleanly(), _progress("Stopping the local stack") as progress:
        _stack(root, progress).down()


@stack_app.command()
def status(root: RootOption = None) -> None:
    """Show each component, its port, pid and state."""
    stack = _stack(root)
    table = Table(title=f"Spotilike stack at {stack.config.root}")
    table.add_column("component")
    table.add_column("port", justify="right")
    table.add_column("pid", justify="right")
    table.add_column("state")
    table.add_column("detail / log", overflow="fold")
    for row in stack.status():
        style = _STATE_STYLE[row.state]
        table.add_row(
            row.name,
            str(row.port),
            str(row.pid or "-"),
            f"[{style}]{row.state}[/]",
            row.detail or str(row.log_path),
        )
    storage = stack.storage_root
    table.add_row(
        "storage", "-", "-", "ready" if storage.is_dir() else "[dim]missing[/]", str(storage)
    )
    console.print(table)


@stack_app.command()
def logs(
    component: Annotated[
        str | None, typer.Argument(help="postgres, postgres-replica, valkey, kafka or smtp")
    ] = None,
    lines: Annotated[int, typer.Option("--lines", "-n", help="Lines per log")] = 40,
    root: RootOption = None,
) -> None:
    """Print the end of the components' log files."""
    paths = _stack(root).log_paths()
    if component is not None and component not in paths:
        errors.print(f"unknown component {component!r}; choose from {', '.join(paths)}")
        raise typer.Exit(2)
    for name, path in paths.items():
        if component is not None and name != component:
            continue
        console.rule(f"{name}: {path}")
        typer.echo(tail(path, lines) or "(no log yet)")


@stack_app.command()
def reset(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
    root: RootOption = None,
) -> None:
    """Stop the stack and delete all its data (databases, Valkey, Kafka topics, storage)."""
    stack_root = StackConfig.from_env(root).root
    if not yes:
        typer.confirm(f"Delete all stack data under {stack_root}?", abort=True)
    with _failing_cleanly(), _progress("Resetting the local stack") as progress:
        _stack(root, progress).reset()
