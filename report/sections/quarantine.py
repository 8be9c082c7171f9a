"""Quarantine: the reasons ranked by how many records they hold back, with masked examples, and
each record linked to its position in the source and to the page of the batch that read it.

Counts are records (``quarantine.<schema>`` rows), not sightings: a record read again by a rerun
is counted once, with how often it was seen. A record a replay loaded is counted as resolved.
The raw record is never shown: reasons quote the bad value (a protected one masked), positions
say where the department can find the record.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from report.figures import plain
from report.sections import Page, register
from schemas import all_schemas
from warehouse.tables import schema_tables

ROWS_PER_CHECK = 200
"""Records listed per check on the page; the rest are one ``hub quarantine list --check`` away."""


class Quarantine:
    name, title, page = "quarantine", "Quarantine", "quarantine.html"

    def collect(self, fig) -> dict[str, Any]:
        by_source_check, rows = [], {}
        for schema in all_schemas():
            q = schema_tables(schema)[2]
            checks = select(q.c.id, q.c.source, func.unnest(q.c.failed_checks).label("check"), q.c.reason,
                            q.c.source_position, q.c.batch_id, q.c.last_batch_id, q.c.times_seen,
                            q.c.loaded_batch_id).subquery()
            for r in fig.conn.execute(
                    select(checks.c.source, checks.c.check, func.count().label("rows"),
                           func.count().filter(checks.c.loaded_batch_id.is_(None)).label("open"),
                           func.sum(checks.c.times_seen).label("times_seen"),
                           func.min(checks.c.reason).label("example_reason"),
                           func.min(checks.c.source_position).label("example_position"),
                           func.min(checks.c.batch_id).label("first_batch"))
                    .group_by(checks.c.source, checks.c.check)).mappings():
                by_source_check.append({"schema": schema.name, **dict(r)})
            ranked = select(checks, func.row_number().over(partition_by=checks.c.check,
                                                           order_by=checks.c.id).label("n")).subquery()
            for r in fig.conn.execute(select(ranked).where(ranked.c.n <= ROWS_PER_CHECK,
                                                           ranked.c.loaded_batch_id.is_(None))
                                      .order_by(ranked.c.check, ranked.c.id)).mappings():
                rows.setdefault(r["check"], []).append({
                    "id": f"{schema.name}-{r['id']}", "source": r["source"], "position": r["source_position"],
                    "reason": r["reason"], "batch_id": r["batch_id"], "last_batch_id": r["last_batch_id"],
                    "times_seen": r["times_seen"]})
        by_source_check.sort(key=lambda r: (-r["open"], -r["rows"], r["source"], r["check"]))
        totals: dict[str, dict[str, Any]] = {}
        for r in by_source_check:
            t = totals.setdefault(r["check"], {"check": r["check"], "rows": 0, "open": 0, "sources": [],
                                               "example_reason": r["example_reason"],
                                               "example_position": r["example_position"],
                                               "example_batch": r["first_batch"]})
            t["rows"] += r["rows"]
            t["open"] += r["open"]
            t["sources"].append(r["source"])
        reasons = sorted(totals.values(), key=lambda t: (-t["open"], -t["rows"], t["check"]))
        for t in reasons:
            t["listed"] = rows.get(t["check"], [])
        return plain({"reasons": reasons, "by_source_check": by_source_check,
                      "open": sum(r["open"] for r in by_source_check)})

    def pages(self, data, fig):
        yield Page(self.page, "quarantine.html", {"data": data, "per_check": ROWS_PER_CHECK}, self.title)


register(Quarantine())
