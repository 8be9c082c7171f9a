"""Schema: what changed in what a source sends.

Columns that appeared or disappeared between two runs (from the columns each batch arrived
with), a schema version applied to the source's table, and batches held whole because most
rows failed one check (the usual sign of a changed export).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from report.figures import plain
from report.sections import Page, register
from warehouse.tables import schema_version


def changes(runs) -> list[dict[str, Any]]:
    """Per run that changed something, what changed (oldest first)."""
    out, columns, version = [], None, None
    for r in runs.itertuples():
        found: dict[str, Any] = {}
        if r.columns:
            if columns is not None and list(r.columns) != list(columns):
                found["appeared"] = [c for c in r.columns if c not in columns]
                found["disappeared"] = [c for c in columns if c not in r.columns]
                if not found["appeared"] and not found["disappeared"]:
                    found["reordered"] = True
            columns = r.columns
        if version is not None and r.schema_version != version:
            found["schema_version"] = {"from": version, "to": r.schema_version}
        version = r.schema_version
        if r.held:
            found["held"] = r.held[0]
        if found:
            out.append({"run_id": r.run_id, "started_at": r.started_at, "batch_id": r.batch_ids[0], **found})
    return out


def describe(change: dict[str, Any]) -> str:
    parts = []
    if change.get("appeared"):
        parts.append("new columns " + ", ".join(change["appeared"]))
    if change.get("disappeared"):
        parts.append("missing columns " + ", ".join(change["disappeared"]))
    if change.get("reordered"):
        parts.append("columns reordered")
    if change.get("schema_version"):
        parts.append(f"schema version {change['schema_version']['from']} → {change['schema_version']['to']}")
    if change.get("held"):
        parts.append("batch held: " + change["held"])
    return "; ".join(parts)


class SchemaChanges:
    name, title, page = "schema", "Schema", "schema.html"

    def collect(self, fig) -> dict[str, Any]:
        sources, latest = [], {}
        for name in fig.source_names:
            runs = fig.runs_of(name)
            found = changes(runs)
            for c in found:
                c["summary"] = describe(c)
            if found and len(runs) and found[-1]["run_id"] == runs.run_id.iloc[-1]:
                latest[name] = found[-1]["summary"]
            sources.append({"source": name, "columns": runs["columns"].dropna().iloc[-1]
                            if len(runs) and runs["columns"].notna().any() else None, "changes": found})
        applied = [dict(r) for r in fig.conn.execute(
            select(schema_version.c.schema_name, schema_version.c.version, schema_version.c.applied_at)
            .order_by(schema_version.c.applied_at.desc())).mappings()]
        sources.sort(key=lambda s: (s["source"] not in latest, s["source"]))
        return plain({"sources": sources, "flagged": latest, "applied": applied})

    def pages(self, data, fig):
        yield Page(self.page, "schema.html", {"data": data}, self.title)


register(SchemaChanges())
