"""``hub``: the command line over the library. Each command calls one function and turns
the library's named errors into one line and a non-zero exit code.
"""
from __future__ import annotations

import logging
import sys
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(help="lienthong: the province's shared-data integration hub.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
warehouse_app = typer.Typer(help="Manage the warehouse database.", no_args_is_help=True)
app.add_typer(warehouse_app, name="warehouse")
console = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _engine():
    from hub.pipeline import prepare_warehouse
    from warehouse.connect import get_engine

    engine = get_engine()
    prepare_warehouse(engine)  # first run, or a schema file that gained a field
    return engine


def _known_errors():
    from adapters import SourceError
    from hub.config import ConfigError
    from hub.pipeline import StageError
    from schemas import SchemaError
    from warehouse.connect import WarehouseError
    from warehouse.migrate import MigrationError

    return (StageError, SourceError, ConfigError, SchemaError, WarehouseError, MigrationError)


@app.command()
def run(
    source: Annotated[Optional[str], typer.Argument(help="Source name from sources.yaml.")] = None,
    all_sources: Annotated[bool, typer.Option("--all", help="Run every source in sources.yaml.")] = False,
    full_refresh: Annotated[bool, typer.Option("--full-refresh", help="Re-read from the start, ignoring the watermark.")] = False,
) -> None:
    """Extract, validate and load a source into the warehouse.

    Example: hub run bacgiang_dossiers_export
    """
    from hub.config import load_sources
    from hub.pipeline import run_source

    if bool(source) == all_sources:
        fail("name one SOURCE or pass --all", 2)
    errors = _known_errors()
    try:
        sources = load_sources()
        if source and source not in sources:
            fail(f"no source named {source!r} in sources.yaml (known: {', '.join(sources)})", 2)
        chosen = list(sources.values()) if all_sources else [sources[source]]
        engine = _engine()
    except errors as exc:
        fail(str(exc))
    failed = held = 0
    for src in chosen:
        try:
            from hub.pipeline import make_adapter

            total = make_adapter(src).estimated_records() if src.adapter == "file" else None
        except errors:
            total = None
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, transient=True, disable=not err.is_terminal) as progress:
            task = progress.add_task(src.name, total=total)
            try:
                result = run_source(src, engine, full_refresh=full_refresh,
                                    on_batch=lambda b: progress.advance(task, b.counts["read"]))
            except errors as exc:
                err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
                failed += 1
                continue
        t = result.totals
        console.print(f"{src.name}: {len(result.batches)} batch(es), read {t['read']}, inserted {t['inserted']}, "
                      f"updated {t['updated']}, unchanged {t['unchanged']}, quarantined {t['quarantined']}",
                      highlight=False)
        for b in result.held:
            err.print(f"[yellow]held:[/yellow] {src.name} batch {b.batch_id}: {b.held}", highlight=False)
            held += 1
    if failed or held:
        raise typer.Exit(1)


@app.command()
def status(
    source: Annotated[Optional[str], typer.Argument(help="Only this source.")] = None,
    limit: Annotated[int, typer.Option(help="How many batches to show.")] = 20,
) -> None:
    """Show the last batches and their counts, newest first.

    Example: hub status --limit 5
    """
    from warehouse.audit import recent_batches

    try:
        rows = recent_batches(_engine(), source=source, limit=limit)
    except _known_errors() as exc:
        fail(str(exc))
    table = Table(title="Last batches")
    for col in ("batch", "source", "status", "started", "read", "inserted", "updated", "unchanged",
                "quarantined", "note"):
        table.add_column(col, justify="right" if col in ("batch", "read", "inserted", "updated", "unchanged",
                                                           "quarantined") else "left")
    for r in rows:
        table.add_row(str(r["batch_id"]), r["source"], r["status"], f"{r['started_at']:%Y-%m-%d %H:%M:%S}",
                      *(str(r[f"rows_{k}"]) for k in ("read", "inserted", "updated", "unchanged", "quarantined")),
                      (r["error"] or "")[:80])
    console.print(table)


@warehouse_app.command("upgrade")
def warehouse_upgrade() -> None:
    """Create or migrate the warehouse tables (Alembic revisions, then the schema-derived tables).

    Example: hub warehouse upgrade
    """
    from warehouse.connect import describe, get_engine
    from warehouse.migrate import current_revision, upgrade

    try:
        engine = get_engine()
        done = upgrade(engine)
        console.print(f"warehouse {describe(engine)} at revision {current_revision(engine)}", highlight=False)
        for line in done:
            console.print(f"  {line}", highlight=False)
    except _known_errors() as exc:
        fail(str(exc))


def main() -> None:  # pragma: no cover - console script entry
    logging.basicConfig(level=logging.WARNING)
    app()


if __name__ == "__main__":
    sys.exit(main())
