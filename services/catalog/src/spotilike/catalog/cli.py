"""``spotilike catalog …``: operator commands of the catalog service."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import aiohttp
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table
from rich.text import Text

from spotilike.catalog.service.imports import ImportReport
from spotilike.catalog.settings import CatalogSettings
from spotilike.kit.migrations import upgrade
from spotilike.kit.server import serve as serve_app

__all__ = ["app"]

app = typer.Typer(help="The catalog service.", no_args_is_help=True)

ROWS_FAILED = 1
REFUSED = 2
"""Exit codes of ``import`` besides 0: some rows failed, or nothing was imported at all."""

_MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8"}
_CHUNK_BYTES = 64 * 1024
_WAIT_FOR_REPORT_SECONDS = 3600
"""The catalog answers once every row is done, which for a large file takes minutes."""


class FileFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


@app.callback()
def catalog() -> None:
    """Operator commands of the catalog service (settings from SPOTILIKE_CATALOG_*)."""


@app.command("import")
def import_file(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="A .json or .csv file."),
    ],
    url: Annotated[
        str, typer.Option(help="The catalog, or the gateway in front of it.")
    ] = "http://127.0.0.1:8102",
    token_env: Annotated[
        str, typer.Option(help="The environment variable holding an ADMIN or ARTIST token.")
    ] = "SPOTILIKE_TOKEN",  # noqa: S107 - the name of a variable, not a token
    file_format: Annotated[
        FileFormat | None,
        typer.Option("--format", help="The file's format, if its name does not say."),
    ] = None,
) -> None:
    """Import artists, albums and tracks (one track per row) into a running catalog.

    Exits 0 when every row was imported, 1 when some rows failed (listed in a table) and 2
    when the catalog refused the whole file or could not be reached.
    """
    console = Console()
    token = os.environ.get(token_env)
    if not token:
        console.print(f"Set {token_env} to an access token of an ADMIN or ARTIST.", markup=False)
        raise typer.Exit(REFUSED)
    kind = file_format or _format_of(file)
    endpoint = url.rstrip("/") + "/catalog/import"
    content = file.read_bytes()
    try:
        status, body = asyncio.run(
            _post(
                content,
                endpoint=endpoint,
                token=token,
                media_type=_MEDIA_TYPES[kind],
                console=console,
            )
        )
    except (aiohttp.ClientError, TimeoutError) as error:
        console.print(f"Could not reach {endpoint}: {error or type(error).__name__}", markup=False)
        raise typer.Exit(REFUSED) from None
    if status != 200:
        _print_refusal(console, status, body)
        raise typer.Exit(REFUSED)
    report = ImportReport.model_validate(body)
    _print_report(console, report)
    if report.errors:
        raise typer.Exit(ROWS_FAILED)


def _format_of(file: Path) -> FileFormat:
    try:
        return FileFormat(file.suffix.lower().lstrip("."))
    except ValueError:
        raise typer.BadParameter(
            "cannot tell the format from the file name; pass --format json or --format csv",
            param_hint="FILE",
        ) from None


async def _post(
    content: bytes, *, endpoint: str, token: str, media_type: str, console: Console
) -> tuple[int, Any]:
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), DownloadColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        upload = progress.add_task("uploading", total=len(content))

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(content), _CHUNK_BYTES):
                yield content[start : start + _CHUNK_BYTES]
                progress.update(upload, completed=min(start + _CHUNK_BYTES, len(content)))
            progress.update(upload, description="importing")

        timeout = aiohttp.ClientTimeout(sock_connect=10, sock_read=_WAIT_FOR_REPORT_SECONDS)
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": media_type,
            # Declared up front, so a catalog that takes fewer bytes says so before the upload.
            "Content-Length": str(len(content)),
        }
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(endpoint, data=chunks(), headers=headers) as response,
        ):
            answer = await response.text()
    try:
        return response.status, json.loads(answer)
    except ValueError:
        return response.status, answer


def _print_refusal(console: Console, status: int, body: Any) -> None:
    detail = body.get("detail") if isinstance(body, dict) else None
    console.print(Text(f"The catalog refused the import ({status}): {detail or body}"))
    entries = body.get("errors") if isinstance(body, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict):
            console.print(Text(f"  {entry.get('pointer') or '-'}: {entry.get('detail')}"))


def _print_report(console: Console, report: ImportReport) -> None:
    failed = len({error.row for error in report.errors})
    created = report.created
    console.print(
        Text(
            f"{report.rows} rows, {report.rows - failed} imported: created {created.artists} "
            f"artists, {created.albums} albums and {created.tracks} tracks."
        )
    )
    if not report.errors:
        return
    table = Table(title=f"{failed} rows failed", title_justify="left")
    for column in ("row", "field", "code", "detail", "existing"):
        table.add_column(column, overflow="fold")
    for error in report.errors:
        existing = error.existing or {}
        table.add_row(
            Text(str(error.row)),
            Text(error.pointer or "-"),
            Text(error.code),
            Text(error.detail),
            Text(str(existing.get("id", ""))),
        )
    console.print(table)


@app.command()
def serve(
    migrate: Annotated[bool, typer.Option(help="upgrade the database before serving")] = True,
) -> None:
    """Run the catalog service (host, port and the rest from SPOTILIKE_CATALOG_*)."""
    settings = CatalogSettings()
    if migrate:
        upgrade(Path(__file__).parents[3] / "migrations", settings.database_url)
    serve_app("spotilike.catalog.app:create_catalog_app", settings)
