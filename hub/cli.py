"""``hub``: the command line over the library. Each command calls one function and turns
the library's named errors into one line and a non-zero exit code.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from hub import cli_quarantine
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hub.errors import console, err, error_line, fail, one_line_errors

app = typer.Typer(help="lienthong: the province's shared-data integration hub.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
warehouse_app = typer.Typer(help="Manage the warehouse database.", no_args_is_help=True)
app.add_typer(warehouse_app, name="warehouse")
refdata_app = typer.Typer(help="Reference data: administrative units, crosswalk, code lists.", no_args_is_help=True)
app.add_typer(refdata_app, name="refdata")
catalogues_app = typer.Typer(help="The shared catalogues the hub publishes to every level.", no_args_is_help=True)
app.add_typer(catalogues_app, name="catalogues")
schemas_app = typer.Typer(help="The shared schemas departments' records are mapped to.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
airflow_app = typer.Typer(help="What an Airflow deployment needs from sources.yaml.", no_args_is_help=True)
app.add_typer(airflow_app, name="airflow")
app.add_typer(cli_quarantine.app, name="quarantine")


def _engine():
    """The warehouse, migrated and with its reference data: for commands that write."""
    from pipeline.run import prepare_warehouse
    from warehouse.connect import get_engine

    engine = get_engine()
    prepare_warehouse(engine)  # first run, or a schema file that gained a field
    return engine


def _reading_engine():
    """The warehouse as it is, for commands that only read: they never migrate it."""
    from warehouse.connect import get_engine
    from warehouse.migrate import require_tables

    engine = get_engine()
    require_tables(engine)
    return engine


@app.command()
@one_line_errors
def run(
    source: Annotated[Optional[str], typer.Argument(help="Source name from sources.yaml.")] = None,
    all_sources: Annotated[bool, typer.Option("--all", help="Run every source in sources.yaml.")] = False,
    full_refresh: Annotated[bool, typer.Option("--full-refresh", help="Re-read from the start, ignoring the watermark.")] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for a run of the same source already under way "
                                             "(default: stop at once, naming it).")] = 0.0,
) -> None:
    """Extract, validate and load a source into the warehouse. One run per source at a time.

    Example: hub run bacgiang_dossiers_export
    """
    from common.errors import HubError
    from pipeline.config import load_sources
    from pipeline.run import make_adapter, run_source

    if bool(source) == all_sources:
        fail("name one SOURCE or pass --all", 2)
    sources = load_sources()
    if source and source not in sources:
        fail(f"no source named {source!r} in sources.yaml (known: {', '.join(sources)})", 2)
    chosen = list(sources.values()) if all_sources else [sources[source]]
    engine = _engine()
    failed = held = 0
    for src in chosen:
        try:
            total = make_adapter(src).estimated_records() if src.adapter == "file" else None
        except HubError:  # the run itself will say what is wrong with the source
            total = None
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, transient=True, disable=not err.is_terminal) as progress:
            task = progress.add_task(src.name, total=total)
            try:
                result = run_source(src, engine, full_refresh=full_refresh, wait=wait,
                                    on_batch=lambda b: progress.advance(task, b.counts["read"]))
            except HubError as exc:
                error_line(exc)
                failed += 1
                continue
        t = result.totals
        console.print(f"{src.name}: {len(result.batches)} batch(es), read {t['read']}, inserted {t['inserted']}, "
                      f"updated {t['updated']}, unchanged {t['unchanged']}, quarantined {t['quarantined']}",
                      highlight=False)
        for b in result.held:
            error_line(f"{src.name} batch {b.batch_id}: {b.held}", "held", "yellow")
            held += 1
    if failed or held:
        raise typer.Exit(1)


@app.command()
@one_line_errors
def status(
    source: Annotated[Optional[str], typer.Argument(help="Only this source.")] = None,
    limit: Annotated[int, typer.Option(help="How many batches to show.")] = 20,
) -> None:
    """Show the last batches and their counts, newest first.

    Example: hub status --limit 5
    """
    from warehouse.audit import recent_batches

    rows = recent_batches(_reading_engine(), source=source, limit=limit)
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
@one_line_errors
def warehouse_upgrade() -> None:
    """Create or migrate the warehouse tables (Alembic revisions, then the schema-derived tables).

    Example: hub warehouse upgrade
    """
    from warehouse.connect import describe, get_engine
    from warehouse.migrate import current_revision, upgrade

    engine = get_engine()
    done = upgrade(engine)
    console.print(f"warehouse {describe(engine)} at revision {current_revision(engine)}", highlight=False)
    for line in done:
        console.print(f"  {line}", highlight=False)


@refdata_app.command("sync")
@one_line_errors
def refdata_sync(
    province: Annotated[Optional[str], typer.Option(
        help="Legacy province code(s) to keep, comma-separated, or 'all' for the whole country "
             "(default: HUB_PROVINCE, else 24, Bắc Giang).")] = None,
) -> None:
    """Load or refresh administrative units, the 2025 crosswalk and code lists (idempotent; history kept).

    Example: hub refdata sync --province 24
    """
    from refdata.sync import served_provinces
    from sync.publish import refresh_and_publish
    from warehouse.connect import get_engine
    from warehouse.migrate import upgrade

    provinces = served_provinces() if province is None else (
        None if province.lower() == "all" else [p.strip() for p in province.split(",")])
    engine = get_engine()
    upgrade(engine)
    r = refresh_and_publish(engine, provinces)
    console.print(f"administrative units: {r.inserted} new, {r.closed} closed, {r.corrected} corrected, "
                  f"{r.unchanged} unchanged; crosswalk {r.crosswalk} links; code lists {r.code_lists} codes "
                  f"(scope: {'whole country' if provinces is None else ', '.join(provinces)})", highlight=False)


@catalogues_app.command("publish")
@one_line_errors
def catalogues_publish() -> None:
    """Make a new version of each catalogue whose content changed since its last version.

    Example: hub catalogues publish
    """
    from sync.publish import publish

    versions = publish(_engine())
    for name, version in versions.items():
        console.print(f"{name}: version {version}", highlight=False)


@catalogues_app.command("feed")
@one_line_errors
def catalogues_feed(
    name: Annotated[str, typer.Argument(help="Catalogue: admin_unit or a code list (document_type, ...).")],
    since: Annotated[Optional[int], typer.Option(help="Only the changes since this version.")] = None,
) -> None:
    """Print a catalogue's latest snapshot, or the delta since a version, as JSON.

    Example: hub catalogues feed document_type --since 1
    """
    import json

    from sync.publish import PublishError, delta, snapshot

    with _engine().connect() as conn:
        body = delta(conn, name, since) if since else snapshot(conn, name)
    sys.stdout.write(json.dumps(body, ensure_ascii=False, indent=1) + "\n")


@catalogues_app.command("push")
@one_line_errors
def catalogues_push(
    name: Annotated[str, typer.Argument(help="Catalogue to push.")],
    target: Annotated[str, typer.Option(help="Name of the receiving system, for the acknowledgement record.")],
    url: Annotated[str, typer.Option(help="The receiving system's endpoint.")],
    token_env: Annotated[Optional[str], typer.Option(help="Environment variable holding its bearer token.")] = None,
) -> None:
    """Push the delta since the target's last acknowledged version (nothing if it is current).

    Example: hub catalogues push document_type --target huyen_hiep_hoa --url http://127.0.0.1:8080/catalogues
    """
    from sync.publish import PublishError, push

    result = push(_engine(), name, target=target, url=url, token_env=token_env)
    console.print(f"{name} -> {target}: {result['status']} at version {result['version']}", highlight=False)


@schemas_app.command("list")
@one_line_errors
def schemas_list() -> None:
    """List the shared schemas with their versions and natural keys.

    Example: hub schemas list
    """
    from schemas import all_schemas

    table = Table(title="Schemas")
    for col in ("name", "version", "fields", "natural key", "title"):
        table.add_column(col)
    for s in all_schemas():
        table.add_row(s.name, s.version, str(len(s.fields)), ", ".join(s.natural_key), s.title)
    console.print(table)


@schemas_app.command("show")
@one_line_errors
def schemas_show(name: Annotated[str, typer.Argument(help="Schema name.")]) -> None:
    """Show a schema's fields, types, PII flags and the checks derived from it.

    Example: hub schemas show social_beneficiary
    """
    from schemas import SchemaError, get_schema

    try:
        s = get_schema(name)
    except SchemaError as exc:  # a name the user typed: a usage error
        fail(str(exc), 2)
    console.print(f"[bold]{s.name}[/bold] {s.version}: {s.title}", highlight=False)
    if s.description:
        console.print(s.description.strip(), highlight=False)
    console.print(f"natural key: {', '.join(s.natural_key)}", highlight=False)
    table = Table()
    for col in ("field", "type", "required", "PII", "checks", "description"):
        table.add_column(col)
    checks = _checks_by_field(s)
    for f in s.fields:
        named = [f"code_list({f.code_list})" if c == "code_list" else c for c in checks.get(f.name, [])]
        table.add_row(f.name, f.type, "yes" if f.required else "", _pii(f), ", ".join(named),
                      (f.description or "").strip())
    console.print(table)


def _pii(f) -> str:
    if not f.pii:
        return ""
    return "PII, stored as keyed hash + mask" + (" + privileged raw" if f.keep_raw else "") if f.protect else "PII"


def _checks_by_field(schema) -> dict[str, list[str]]:
    """The checks each field gets, as the suite builder derives them (code lists stand in)."""
    from collections import defaultdict

    from quality.catalogs import Catalogs
    from quality.suite import expectations

    class AnyList(dict):
        def get(self, name, default=None):
            return [f"<{name}>"]

    found: dict[str, list[str]] = defaultdict(list)
    for e in expectations(schema, cats=Catalogs(code_lists=AnyList())):
        kind, column = e.meta["check"].split(":", 1)
        found[column].append(kind)
    return found


@app.command()
@one_line_errors
def validate(
    file: Annotated[str, typer.Argument(help="The file to check.")],
    schema: Annotated[str, typer.Option("--schema", help="Schema to check it against.")],
    source_format: Annotated[Optional[str], typer.Option(
        "--source-format", help="File format: csv or xlsx (default: from the file's suffix, else csv).")] = None,
    source: Annotated[Optional[str], typer.Option(help="Borrow column/value mapping and dates from this source.")] = None,
    encoding: Annotated[Optional[str], typer.Option(
        help="The file's encoding (default: the borrowed source's, else auto: a BOM or valid UTF-8).")] = None,
    show: Annotated[int, typer.Option(help="How many failing rows to list.")] = 20,
) -> None:
    """Dry run: map and validate a file against a schema and report what would pass and fail. Loads nothing.

    Example: hub validate export.csv --schema dossier --source bacgiang_dossiers_export
    """
    from pipeline.check import dry_run, file_source

    config = file_source(file, schema, like=source, file_format=source_format, encoding=encoding)
    report = dry_run(config, _engine())
    console.print(f"{file}: {report['read']} rows read, {report['pass']} would load, "
                  f"{report['fail']} would be quarantined" + (f" (HELD: {report['held']})" if report["held"] else ""),
                  highlight=False)
    if report["by_check"]:
        table = Table(title="Failures by check")
        table.add_column("check")
        table.add_column("rows", justify="right")
        for check, n in sorted(report["by_check"].items(), key=lambda kv: -kv[1]):
            table.add_row(check, str(n))
        console.print(table)
    if report["rows"]:
        table = Table(title=f"First {min(show, len(report['rows']))} failing rows")
        table.add_column("position")
        table.add_column("reason")
        for r in report["rows"][:show]:
            table.add_row(r["position"], r["reason"])
        console.print(table)
    if report["fail"]:
        raise typer.Exit(1)


class _ChecksFromRegistry(typer.core.TyperCommand):
    """``hub reconcile --help`` lists the registered checks when shown, so a check added since the
    CLI was imported (a new file in sync/checks/, or one registered by a test) is listed too."""

    def format_help(self, ctx, formatter):
        from sync.checks import help_text

        for param in self.params:
            if param.name == "check":
                param.help = help_text()
        return super().format_help(ctx, formatter)


@app.command(cls=_ChecksFromRegistry)
@one_line_errors
def reconcile(
    check: Annotated[Optional[str], typer.Option(help="Only this check (the registered checks are listed here).")] = None,
    period: Annotated[Optional[str], typer.Option(help="Only this period (2025-06, 2025-06-30, 2025-Q2).")] = None,
    as_of_geography: Annotated[str, typer.Option("--as-of-geography",
                                                 help="legacy: each period on its own map; 2025: legacy figures "
                                                      "re-expressed on the 2025 units.")] = "legacy",
    working_days: Annotated[int, typer.Option(help="Working days a recipient has to acknowledge a document.")] = 1,
) -> None:
    """Find where the administrative levels disagree and keep the findings in audit.reconciliation.

    Example: hub reconcile --check indicators --period 2025-06
    """
    from sync.reconcile import reconcile as run_reconcile

    result = run_reconcile(_engine(), check=check, period=period, as_of_geography=as_of_geography,
                           working_days=working_days)
    _findings_table(result, "Findings")


@app.command()
@one_line_errors
def demo(
    size: Annotated[str, typer.Option(help="small (about a minute) or large (for benchmarks).")] = "small",
    seed: Annotated[int, typer.Option(help="Seed of the generator: the same seed plants the same defects.")] = 24,
) -> None:
    """Build a simulated province (one-stop REST server, edXML folder, beneficiary lists, an enterprise
    database, indicator reports, a catalogue copy), run every pipeline against it, reconcile the
    levels, and print what loaded, what was quarantined, the findings and where the report is.

    Example: hub demo --size small --seed 24
    """
    from demo.province import SIZES
    from demo.run import quarantine_by_check, run_demo

    if size not in SIZES:
        fail(f"unknown --size {size!r} (known: {', '.join(SIZES)})", 2)
    engine = _engine()

    def progress(name, result, error):
        if error:
            error_line(error)

    with err.status("running the simulated province's pipelines", spinner="dots"):
        result = run_demo(engine, size=size, seed=seed, on_source=progress)
    loaded = Table(title=f"Loaded from the simulated province ({result.workspace})")
    for col in ("source", "read", "inserted", "updated", "unchanged", "quarantined", "held"):
        loaded.add_column(col, justify="left" if col == "source" else "right")
    for name, run_result in result.runs.items():
        t = run_result.totals
        loaded.add_row(name, *(str(t[k]) for k in ("read", "inserted", "updated", "unchanged", "quarantined")),
                       str(len(run_result.held)))
    console.print(loaded)
    by_check = quarantine_by_check(engine, list(result.runs))
    quarantined = Table(title="Quarantined, per source and check")
    for col in ("source", "check", "rows", "planted"):
        quarantined.add_column(col, justify="right" if col in ("rows", "planted") else "left")
    for name, checks in by_check.items():
        planted = result.manifest["sources"].get(name, {}).get("quarantined", {})
        for check, n in checks.items():
            quarantined.add_row(name, check, str(n), str(planted.get(check, 0)))
    console.print(quarantined)
    for title, rec in (("legacy and 2025 units, each period on its own map", result.reconciliation),
                       ("legacy figures re-expressed on the 2025 map", result.reconciliation_2025)):
        _findings_table(rec, f"Reconciliation findings ({title})")
    from report import build_report

    console.print(f"workspace: {result.workspace} (manifest.json lists what was planted)", highlight=False)
    console.print(f"report: {build_report(engine)}", highlight=False)
    if result.failed or any(r.held for r in result.runs.values()):
        raise typer.Exit(1)


def _findings_table(result, title: str) -> None:
    table = Table(title=f"{title} ({len(result.findings)}; {result.resolved} resolved since the last run)")
    for col in ("check", "level", "unit", "period / document", "subject", "expected", "found", "difference", "detail"):
        table.add_column(col, overflow="fold")
    for f in result.findings:
        table.add_row(f.check, f.level or "", f.unit or "", f.period or "",
                      (f.subject or "")[:16], _num(f.expected), _num(f.found), _num(f.difference), f.detail)
    console.print(table)


@app.command()
@one_line_errors
def report(
    out: Annotated[Optional[Path], typer.Option(help="Folder to write to (default $HUB_HOME/reports).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Also print the report's figures as JSON on stdout.")] = False,
) -> None:
    """Rebuild the auditors' data-quality report: a static site (open quality_report.html) and the
    same figures as JSON (quality_report.json, or on stdout with --json).

    Example: hub report --out /tmp/reports
    """
    from report import build_report

    page = build_report(_reading_engine(), out)
    if as_json:
        sys.stdout.write(page.with_name("quality_report.json").read_text(encoding="utf-8") + "\n")
    else:
        console.print(f"report: {page}", highlight=False)


@app.command()
@one_line_errors
def lineage(
    schema: Annotated[str, typer.Argument(help="Schema name (hub schemas list).")],
    key: Annotated[list[str], typer.Argument(help="The row's natural key, in the schema's key order.")],
) -> None:
    """Follow one warehouse row back to its source: lineage columns and the batch that loaded it.

    Example: hub lineage dossier G24.250106.002279
    """
    import json

    from report import lineage as find

    found = find(_reading_engine(), schema, key)
    if found is None:
        fail(f"no {schema} row with key {' '.join(key)}")
    console.print_json(json.dumps(found, default=str, ensure_ascii=False))


def _num(value) -> str:
    return "" if value is None else f"{value:,}"


@airflow_app.command("pools")
@one_line_errors
def airflow_pools() -> None:
    """Print the pools file for `airflow pools import`: one pool per department system, with its size.

    Example: hub airflow pools > .hub/airflow/pools.json && airflow pools import .hub/airflow/pools.json
    """
    from orchestration.pools import pools_json

    sys.stdout.write(pools_json())


def main() -> None:
    """The console script: logging set up once (``HUB_LOG_LEVEL``, default WARNING), then the command."""
    import os

    level = os.environ.get("HUB_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(level=getattr(logging, level, logging.WARNING),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    sys.exit(main())
