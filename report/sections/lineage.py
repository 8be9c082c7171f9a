"""Lineage: every batch of the sources' last runs, its file and checksum, its positions, and a page
per batch with its audit row, its expectations' results, its schema version and its Data Docs.

A warehouse row names its batch and position (``hub lineage SCHEMA KEY`` prints the chain);
these pages are the same chain for auditors without database access.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from report.figures import REPLAY, plain
from report.sections import Page, register
from warehouse.tables import batch, schema_version, validation_result

SHOWN = ("batch_id", "run_id", "source", "adapter", "schema_name", "schema_version", "status", "started_at",
         "ended_at", "file", "file_sha256", "position_start", "position_end", "rows_read", "rows_inserted",
         "rows_updated", "rows_unchanged", "rows_quarantined", "error", "columns")


def expectation_results(result: dict) -> list[dict[str, Any]]:
    out = []
    for r in result.get("results", []):
        config = r.get("expectation_config") or {}
        kwargs = config.get("kwargs") or {}
        out.append({"check": (config.get("meta") or {}).get("check") or config.get("type"),
                    "expectation": config.get("type"), "column": kwargs.get("column") or kwargs.get("column_A"),
                    "success": r.get("success"), "unexpected": (r.get("result") or {}).get("unexpected_count"),
                    "unexpected_percent": (r.get("result") or {}).get("unexpected_percent")})
    return out


class Lineage:
    name, title, page = "lineage", "Lineage", "lineage.html"

    def collect(self, fig) -> dict[str, Any]:
        ids = set(fig.batches.batch_id.tolist())
        for reason in fig.section("quarantine")["reasons"]:
            ids.update(r["batch_id"] for r in reason["listed"])
            ids.update(r["last_batch_id"] for r in reason["listed"])
            ids.add(reason["example_batch"])
        rows = [dict(r) for r in fig.conn.execute(select(batch).where(batch.c.batch_id.in_(sorted(ids)))
                                                  .order_by(batch.c.batch_id.desc())).mappings()]
        kept = {r["batch_id"]: r for r in fig.conn.execute(
            select(validation_result).where(validation_result.c.batch_id.in_(sorted(ids)))).mappings()}
        versions = {r["schema_name"]: r for r in fig.conn.execute(select(schema_version)).mappings()}
        batches = []
        for r in rows:
            result = kept.get(r["batch_id"])
            applied = versions.get(r["schema_name"])
            batches.append({
                **{k: r[k] for k in SHOWN}, "replay": r["adapter"] == REPLAY,
                "failed_checks": (r["gx_statistics"] or {}).get("failed_checks", {}),
                "evaluated_expectations": (r["gx_statistics"] or {}).get("evaluated_expectations"),
                "expectations": expectation_results(result["result"]) if result else [],
                "data_docs": f"data_docs/batch-{r['batch_id']}.html" if result else None,
                "schema_applied": applied and {"version": applied["version"], "applied_at": applied["applied_at"]},
                "page": f"batches/{r['batch_id']}.html"})
        return plain({"batches": batches})

    def pages(self, data, fig):
        yield Page(self.page, "lineage.html", {"data": data}, self.title)
        for b in data["batches"]:
            yield Page(b["page"], "batch.html", {"batch": b}, f"Batch {b['batch_id']}")


register(Lineage())
