"""``spotilike up`` / ``down`` / ``status``: the whole platform on one machine.

``up`` runs in the foreground: it brings up the stack, builds the web player, starts and
supervises every service, seeds the demo catalog on the first start, prints where
everything is, and on Ctrl-C (or ``spotilike down`` from another terminal) stops the
services and the stack again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from spotilike.tools.demo.seed import DemoAccounts, SeedError, seed_demo, seeded_accounts
from spotilike.tools.platform.processes import GATEWAY_PORT, ProcessSpec, platform_processes
from spotilike.tools.platform.supervisor import PlatformNotReady, Supervisor, platform_state
from spotilike.tools.platform.web import WebBuildError, build_web_player
from spotilike.tools.stack.component import State
from spotilike.tools.stack.config import StackConfig
from spotilike.tools.stack.errors import StackError
from spotilike.tools.stack.manager import Stack

__all__ = ["down", "status", "up"]

console = Console()
errors = Console(stderr=True)

KeepStack = Annotated[
    bool, typer.Option("--keep-stack", help="leave PostgreSQL, Valkey, Kafka running at the end")
]


def up(
    seed: Annotated[bool, typer.Option(help="seed the demo catalog on the first start")] = True,
    web: Annotated[bool, typer.Option(help="build the web player (needs Node.js)")] = True,
    demo_tracks: Annotated[
        int | None, typer.Option(min=1, max=10, help="seed only this many demo tracks")
    ] = None,
    keep_stack: KeepStack = False,
) -> None:
    """Start the whole platform and keep it running until Ctrl-C."""
    config = StackConfig.from_env()
    running = platform_state(config.root)
    if running is not None:
        errors.print(
            f"the platform is already running (supervisor pid {running['supervisor_pid']}); "
            "`spotilike status` shows it, `spotilike down` stops it"
        )
        raise typer.Exit(1)
    stack = Stack(config)
    try:
        with console.status("starting PostgreSQL, Valkey, Kafka and the mail sink"):
            stack.up()
    except StackError as error:
        errors.print(f"[red]✗ {error}[/]", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    console.print("[green]✓[/] infrastructure is up")
    if web:
        try:
            built = build_web_player(Path.cwd() / "web", say=console.print)
        except WebBuildError as error:
            errors.print(f"[red]✗ web player: {error}[/]", soft_wrap=True)
            raise typer.Exit(1) from None
        if built:
            console.print("[green]✓[/] web player built")
    specs = platform_processes(stack.endpoints)
    code = asyncio.run(_run(specs, config.root, seed=seed, demo_tracks=demo_tracks))
    if not keep_stack:
        with console.status("stopping the infrastructure"):
            stack.down()
    raise typer.Exit(code)


async def _run(specs: list[ProcessSpec], root: Path, *, seed: bool, demo_tracks: int | None) -> int:
    supervisor = Supervisor(
        specs,
        root=root,
        cwd=Path.cwd(),
        on_event=lambda name, message: console.print(f"  {name}: {message}", highlight=False),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    try:
        try:
            await supervisor.start()
        except PlatformNotReady as failure:
            for name, log in failure.failures.items():
                errors.rule(f"{name} did not come up; the end of {supervisor.log_path(name)}")
                errors.print(log, highlight=False, markup=False)
            errors.print(
                f"[red]✗ not ready: {', '.join(failure.failures)}[/]. "
                "Fix the cause above and run `make up` again."
            )
            return 1
        accounts = seeded_accounts(root)
        if accounts is None and seed:
            users_env = next(spec.env for spec in specs if spec.name == "users")
            accounts = await _seed(root, users_env, demo_tracks)
            if accounts is None:
                return 1
        _welcome(root, accounts, supervisor)
        await stop.wait()
        console.print("stopping…")
        return 0
    finally:
        await supervisor.stop()


async def _seed(
    root: Path, users_env: Mapping[str, str], tracks: int | None
) -> DemoAccounts | None:
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("seeding the demo catalog", total=1.0)

        def report(message: str, fraction: float | None) -> None:
            bar.update(task, description=message, completed=fraction)

        try:
            return await seed_demo(
                f"http://127.0.0.1:{GATEWAY_PORT}",
                root=root,
                users_env=users_env,
                tracks=tracks,
                progress=report,
            )
        except (SeedError, httpx.HTTPError) as error:
            errors.print(f"[red]✗ seeding the demo catalog failed: {error}[/]", soft_wrap=True)
            errors.print("The services keep their logs in .spotilike/logs/; `make up` retries.")
            return None


def _welcome(root: Path, accounts: DemoAccounts | None, supervisor: Supervisor) -> None:
    console.rule("[green]Spotilike is up")
    console.print(f"  open        http://localhost:{GATEWAY_PORT}")
    console.print("  API docs    each service's /docs, e.g. http://127.0.0.1:8102/docs (catalog)")
    if accounts is not None:
        console.print(f"  admin       {accounts.admin_email} / {accounts.admin_password}")
        console.print(f"  listener    {accounts.listener_email} / {accounts.listener_password}")
    console.print(f"  logs        {root / 'logs'}/<process>.log  ({', '.join(supervisor.names)})")
    console.print("  mail        uv run spotilike mail list   (the SMTP sink on :51025)")
    console.print("  stop        Ctrl-C here, or `uv run spotilike down` elsewhere")


def down(keep_stack: KeepStack = False) -> None:
    """Stop a running platform (its supervisor stops every service), then the stack."""
    config = StackConfig.from_env()
    state = platform_state(config.root)
    if state is not None:
        pid = int(str(state["supervisor_pid"]))
        os.kill(pid, signal.SIGTERM)
        with console.status(f"waiting for the supervisor (pid {pid}) to stop the services"):
            deadline = time.monotonic() + 120
            while platform_state(config.root) is not None and time.monotonic() < deadline:
                time.sleep(0.5)
        console.print("[green]✓[/] services stopped")
    if not keep_stack:
        with console.status("stopping the infrastructure"):
            Stack(config).down()
        console.print("[green]✓[/] infrastructure stopped")


def status() -> None:
    """Every process and infrastructure part with its state and port."""
    config = StackConfig.from_env()
    stack = Stack(config)
    table = Table(title=f"Spotilike at {config.root}")
    for column in ("part", "port", "pid", "state", "log"):
        table.add_column(column, overflow="fold")
    for row in stack.status():
        colour = "green" if row.state is State.RUNNING else "yellow"
        table.add_row(
            row.name,
            str(row.port),
            str(row.pid or "-"),
            f"[{colour}]{row.state}[/]",
            str(row.log_path),
        )
    state = platform_state(config.root)
    processes = state.get("processes", {}) if state is not None else {}
    specs = platform_processes(stack.endpoints)
    for spec in specs:
        info = processes.get(spec.name, {}) if isinstance(processes, dict) else {}
        pid = info.get("pid") if isinstance(info, dict) else None
        table.add_row(
            spec.name,
            str(spec.port or "-"),
            str(pid or "-"),
            _process_state(spec, pid),
            str(config.root / "logs" / f"{spec.name}.log"),
        )
    console.print(table)
    if state is None:
        console.print("The services are not running: `make up` starts them.")


def _process_state(spec: ProcessSpec, pid: object) -> str:
    if not isinstance(pid, int):
        return "[dim]stopped[/]"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "[red]exited[/]"
    except PermissionError:
        pass
    if spec.health_url is None:
        return "[green]running[/]"
    with contextlib.suppress(httpx.HTTPError):
        if httpx.get(spec.health_url, timeout=1.0).status_code == 200:
            return "[green]ready[/]"
    return "[yellow]not ready[/]"
