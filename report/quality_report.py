"""The auditors' report: what each source delivered, what was held back and why, where the
levels disagree, and how to follow a row back to its source.

Auditors read it without access to the database, so it is one self-contained HTML page (and
the same figures as JSON, for tools). It is rebuilt from the warehouse alone (``audit.batch``,
the ``quarantine`` tables, ``audit.reconciliation``): nothing it shows exists anywhere else.
It names checks, reasons and positions, never a raw record: quarantined rows can hold
personal data, which stays in the warehouse under its access rules.
"""
from __future__ import annotations

import html
import json
import os
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, case, func, select

from schemas import all_schemas
from sync.findings import open_findings
from warehouse.tables import batch, reconciliation, schema_tables

COUNTS = ("read", "inserted", "updated", "unchanged", "quarantined")


def report_dir() -> Path:
    return Path(os.environ.get("HUB_HOME", ".hub")).resolve() / "reports"


def collect(engine: Engine) -> dict[str, Any]:
    """The report's figures, as plain values."""
    sums = [func.coalesce(func.sum(batch.c[f"rows_{k}"]), 0).label(k) for k in COUNTS]
    by_status = [func.count().filter(batch.c.status == s).label(f"batches_{s}")
                 for s in ("succeeded", "unchanged", "held", "failed", "abandoned", "running")]
    with engine.connect() as conn:
        sources = [dict(r) for r in conn.execute(
            select(batch.c.source, batch.c.schema_name, func.count().label("batches"), *by_status, *sums,
                   func.max(batch.c.started_at).label("last_run"))
            .group_by(batch.c.source, batch.c.schema_name).order_by(batch.c.source)).mappings()]
        unbalanced = conn.execute(select(func.count()).where(
            batch.c.status.not_in(["running", "failed", "abandoned"]),
            batch.c.rows_read != sum(batch.c[f"rows_{k}"] for k in COUNTS[1:]))).scalar_one()
        troubles = [dict(r) for r in conn.execute(
            select(batch.c.batch_id, batch.c.source, batch.c.status, batch.c.file, batch.c.started_at,
                   batch.c.rows_read, batch.c.error)
            .where(batch.c.status.in_(["held", "failed", "abandoned"])).order_by(batch.c.batch_id.desc()).limit(50)).mappings()]
        quarantine = []
        for schema in all_schemas():
            q = schema_tables(schema)[2]
            checks = select(q.c.source, func.unnest(q.c.failed_checks).label("check"), q.c.reason,
                            q.c.source_position, q.c.batch_id).subquery()
            quarantine += [{"schema": schema.name, **dict(r)} for r in conn.execute(
                select(checks.c.source, checks.c.check, func.count().label("rows"),
                       func.min(checks.c.reason).label("example_reason"),
                       func.min(checks.c.source_position).label("example_position"),
                       func.min(checks.c.batch_id).label("first_batch"))
                .group_by(checks.c.source, checks.c.check).order_by(checks.c.source, func.count().desc())).mappings()]
        findings = open_findings(conn)
        resolved = conn.execute(select(func.count()).where(reconciliation.c.status == "resolved")).scalar_one()
        by_check = [dict(r) for r in conn.execute(
            select(reconciliation.c.check, reconciliation.c.geography,
                   func.count().filter(reconciliation.c.status == "open").label("open"),
                   func.count().filter(reconciliation.c.status == "resolved").label("resolved"))
            .group_by(reconciliation.c.check, reconciliation.c.geography)
            .order_by(case((reconciliation.c.check.like("indicator%"), 0), else_=1), reconciliation.c.check))
            .mappings()]
    keep = ("check", "level", "unit", "period", "subject", "expected", "found", "difference", "geography",
            "detail", "first_seen_at", "last_seen_at")
    return {"generated_at": datetime.now(timezone.utc), "sources": sources, "unbalanced_batches": unbalanced,
            "held_or_failed": troubles, "quarantine": quarantine,
            "reconciliation": {"by_check": by_check, "resolved": resolved,
                               "open": [{k: f[k] for k in keep} for f in findings]}}


def build_report(engine: Engine, out_dir: Path | None = None) -> Path:
    """Write ``quality_report.html`` and ``quality_report.json``; return the HTML file's path."""
    data = collect(engine)
    out = Path(out_dir or report_dir())
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality_report.json").write_text(json.dumps(data, default=_plain, ensure_ascii=False, indent=1),
                                             encoding="utf-8")
    page = out / "quality_report.html"
    page.write_text(render(data), encoding="utf-8")
    return page


def render(data: dict[str, Any]) -> str:
    rec = data["reconciliation"]
    invariant = ("every closed batch satisfies rows read = inserted + updated + unchanged + quarantined"
                 if not data["unbalanced_batches"] else
                 f"{data['unbalanced_batches']} closed batches do NOT add up: rows read differs from the sum")
    parts = [
        f"<h1>lienthong: data-quality report</h1><p>Generated {_plain(data['generated_at'])} from the warehouse's "
        f"audit trail. {html.escape(invariant)}.</p>",
        "<h2>Sources</h2>",
        _table(data["sources"], ("source", "schema_name", "batches", "batches_succeeded", "batches_unchanged",
                                 "batches_held", "batches_failed", "batches_abandoned",
                                 *COUNTS, "last_run")),
        "<h2>Held and failed batches</h2><p>A held batch looked like a broken source (most rows failing one "
        "check) and went to quarantine whole; a failed batch left nothing in <code>core</code>, nor did an "
        "abandoned one (its process died mid-batch; the next run of the source closed it).</p>",
        _table(data["held_or_failed"], ("batch_id", "source", "status", "file", "started_at", "rows_read", "error")),
        "<h2>Quarantine by check</h2><p>Rows are kept in <code>quarantine.&lt;schema&gt;</code> with the raw "
        "record, every failed check and the reason; the position names the file and line or the message.</p>",
        _table(data["quarantine"], ("schema", "source", "check", "rows", "example_reason", "example_position",
                                    "first_batch")),
        f"<h2>Reconciliation between levels</h2><p>{len(rec['open'])} open findings, {rec['resolved']} resolved. "
        "Upward sums are read on the hierarchy in force on the period's last day; findings on the 2025 map "
        "re-express legacy figures through the crosswalk (a divided commune counts whole towards its default "
        "successor).</p>",
        _table(rec["by_check"], ("check", "geography", "open", "resolved")),
        _table(rec["open"], ("check", "level", "unit", "period", "subject", "expected", "found", "difference",
                             "geography", "detail")),
        "<h2>Following a row back</h2><p>Every row of <code>core.&lt;schema&gt;</code> carries <code>source</code>, "
        "<code>batch_id</code>, <code>source_position</code> (file and line, page, key or message id), "
        "<code>row_hash</code>, <code>loaded_at</code> and <code>schema_version</code>; <code>audit.batch</code> "
        "gives the batch's file and its sha256, its start and end positions and its Great Expectations "
        "statistics. <code>hub lineage SCHEMA KEY</code> prints that chain for one row.</p>",
    ]
    style = ("body{font-family:sans-serif;margin:2em;max-width:90em}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #bbb;padding:.2em .5em;vertical-align:top;font-size:90%}th{background:#eee}")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>lienthong data-quality report"
            f"</title><style>{style}</style></head><body>{''.join(parts)}</body></html>\n")


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    if not rows:
        return "<p><em>none</em></p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(r.get(c)))}</td>" for c in columns)
                   + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(value: Any) -> str:
    return "" if value is None else str(_plain(value))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
