"""``hub quarantine``: the quarantined records as a work list (list, show, replay)."""
from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.table import Table

from hub.errors import console, fail, one_line_errors

app = typer.Typer(help="The quarantine as a work list: find, read (masked) and replay held-back records.",
                  no_args_is_help=True)


def _engine(*, writes: bool = False):
    """The warehouse; migrated first only for a replay, which writes (list and show only read)."""
    from hub.cli import _engine as writing, _reading_engine as reading

    return writing() if writes else reading()


def _sources():
    from pipeline.config import known_sources

    return known_sources()


@app.command("list")
@one_line_errors
def list_(
    source: Annotated[Optional[str], typer.Option(help="Only this source.")] = None,
    check: Annotated[Optional[str], typer.Option(help="Only this check (code_list:status) or kind (code_list).")] = None,
    unit: Annotated[Optional[str], typer.Option(help="Only records naming this administrative unit code.")] = None,
    include_loaded: Annotated[bool, typer.Option("--all", help="Also records a replay has loaded.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many records.")] = 200,
) -> None:
    """List quarantined records, oldest first, with their checks, position and batch.

    Example: hub quarantine list --source bacgiang_dossiers_export --check code_list
    """
    from quarantine.worklist import list_records

    sources = _sources()
    if source and source not in sources:
        fail(f"no source named {source!r} in sources.yaml (known: {', '.join(sources)})", 2)
    rows = list_records(_engine(), sources, source=source, check=check, unit=unit, include_loaded=include_loaded,
                        limit=limit)
    table = Table(title=f"Quarantined records ({len(rows)}{'+' if len(rows) == limit else ''})")
    for col in ("id", "source", "checks", "position", "unit", "batch", "seen", "reason"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["id"], r["source"], ", ".join(r["checks"]), r["position"], str(r["unit"] or ""),
                      str(r["batch_id"]) + (f" (loaded by {r['loaded_batch_id']})" if r["loaded_batch_id"] else ""),
                      str(r["times_seen"]), r["reason"][:120])
    console.print(table)


@app.command("show")
@one_line_errors
def show(record: Annotated[str, typer.Argument(help="The record's id, <schema>-<number> (hub quarantine list).")]) -> None:
    """Show one quarantined record, masked: every reason, its position, its batches, how often seen.

    Example: hub quarantine show dossier-12
    """
    from quarantine.worklist import show as find

    console.print_json(json.dumps(find(_engine(), _sources(), record), default=str, ensure_ascii=False))


@app.command("replay")
@one_line_errors
def replay(
    source: Annotated[Optional[str], typer.Option(help="Only this source's records.")] = None,
    check: Annotated[Optional[str], typer.Option(help="Only records that failed this check or kind.")] = None,
) -> None:
    """Revalidate quarantined records after a fix (code list, mapping); load those that now pass.

    Those that pass load as a new batch, and their quarantine rows name it; the rest keep their
    rows with their reasons updated. Nothing is deleted; a record loaded once is not replayed again.

    Example: hub quarantine replay --source bacgiang_dossiers_export --check code_list:status
    """
    from quarantine.replay import replay as run

    results = run(_engine(writes=True), _sources(), source=source, check=check)
    if not results:
        console.print("nothing to replay: no open quarantined record matches", highlight=False)
    for r in results:
        loaded = f"loaded {r.loaded} as batch {r.batch_id}" if r.batch_id else "loaded 0"
        console.print(f"{r.source} ({r.schema}): revalidated {r.revalidated}, {loaded}, "
                      f"still failing {r.still_failing}", highlight=False)
        for why, n in r.skipped.items():
            console.print(f"  not replayed: {n} ({why})", highlight=False)
