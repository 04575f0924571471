"""``spotilike contracts``: record event schemas and regenerate the AsyncAPI document."""

from __future__ import annotations

import json

import typer
from rich.console import Console

from spotilike.contracts.asyncapi import build_document
from spotilike.contracts.compatibility import breaking_changes, current_schemas, load_snapshot
from spotilike.contracts.compatibility import write_snapshot as write_schema_snapshot
from spotilike.tools.workspace import repository_root

__all__ = ["contracts_app"]

contracts_app = typer.Typer(help="Event contracts: schema snapshots and the AsyncAPI document.")
_console = Console()


@contracts_app.command()
def snapshot() -> None:
    """Record the current event schemas in libs/contracts/schemas (refuses breaking changes)."""
    folder = repository_root() / "libs" / "contracts" / "schemas"
    recorded = load_snapshot(folder)
    current = current_schemas()
    problems = [
        f"{event_type}{problem}"
        for event_type, old in recorded.items()
        for problem in (
            breaking_changes(old, current[event_type]) if event_type in current else [": removed"]
        )
    ]
    if problems:
        _console.print("[red]breaking changes; publish a new version instead:[/]")
        for problem in problems:
            _console.print(f"  {problem}")
        raise typer.Exit(1)
    written = write_schema_snapshot(folder)
    _console.print(f"[green]✓[/] {len(written)} schemas in {folder}")


@contracts_app.command()
def asyncapi() -> None:
    """Write docs/asyncapi.json from the topic registry and the event models."""
    target = repository_root() / "docs" / "asyncapi.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(build_document(), indent=2, sort_keys=True) + "\n")
    _console.print(f"[green]✓[/] {target}")
