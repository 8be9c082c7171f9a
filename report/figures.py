"""The audit trail as the report reads it: each source's last runs, once, for every section.

A *run* is one ``run_id`` of the pipeline (a ``hub run``, an Airflow task, a demo): its batches
summed. Pass rates, volumes and trends are per run over the last :data:`RUNS` runs of a source,
so a rerun that finds nothing new does not double a count (the old report summed batches).
Replays of the quarantine are batches too, but not runs of the source: they are kept apart.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from functools import cached_property
from typing import Any

import pandas as pd
from sqlalchemy import Connection, func, select

from pipeline.config import SourceConfig
from warehouse.tables import batch

RUNS = 30
REPLAY = "replay"
"""The adapter name of a quarantine replay's batch."""
COUNTS = ("read", "inserted", "updated", "unchanged", "quarantined")


def pct(part: float, whole: float) -> float | None:
    return None if not whole else round(100.0 * part / whole, 2)


@dataclass
class Figures:
    """What the sections share: a connection, the registry, the clock, and the last runs."""
    conn: Connection
    sources: dict[str, SourceConfig] = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    runs_kept: int = RUNS
    _sections: dict[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        """Another section's figures (computed once): the overview reads the pillars' flags."""
        from report.sections import get_section

        if name not in self._sections:
            self._sections[name] = get_section(name).collect(self)
        return self._sections[name]

    @cached_property
    def batches(self) -> pd.DataFrame:
        """Every batch of each source's last runs (and the replays), oldest first."""
        first = select(batch.c.source, batch.c.run_id, func.min(batch.c.batch_id).label("first"),
                       func.row_number().over(partition_by=batch.c.source,
                                              order_by=func.min(batch.c.batch_id).desc()).label("recent")) \
            .where(batch.c.adapter != REPLAY).group_by(batch.c.source, batch.c.run_id).subquery()
        kept = select(first.c.run_id).where(first.c.recent <= self.runs_kept)
        rows = self.conn.execute(select(batch).where((batch.c.run_id.in_(kept)) | (batch.c.adapter == REPLAY))
                                 .order_by(batch.c.batch_id)).mappings().all()
        frame = pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in batch.columns])
        for k in COUNTS:
            frame[f"rows_{k}"] = frame[f"rows_{k}"].astype("int64")
        return frame

    @cached_property
    def source_batches(self) -> pd.DataFrame:
        return self.batches[self.batches.adapter != REPLAY]

    @cached_property
    def runs(self) -> pd.DataFrame:
        """One row per run: its source, start, end, status, counts, file, columns and schema version."""
        b = self.source_batches
        if b.empty:
            return pd.DataFrame(columns=["run_id", "source", "schema_name", "started_at", "ended_at", "status",
                                         *COUNTS, "file_sha256", "columns", "schema_version", "batch_ids",
                                         "held", "error"])
        out = []
        for run_id, g in b.groupby("run_id", sort=False):
            statuses = set(g.status)
            closed = g[~g.status.isin(["failed", "running"])]
            status = next((s for s in ("failed", "running", "held") if s in statuses),
                          "unchanged" if statuses == {"unchanged"} else "succeeded")
            with_columns = [c for c in g["columns"] if c]
            out.append({
                "run_id": run_id, "source": g.source.iloc[0], "schema_name": g.schema_name.iloc[-1],
                "started_at": g.started_at.min(), "ended_at": g.ended_at.max(), "status": status,
                **{k: int(closed[f"rows_{k}"].sum()) for k in COUNTS},
                "file_sha256": next((s for s in reversed(g.file_sha256.tolist()) if s), None),
                "columns": with_columns[0] if with_columns else None,
                "schema_version": g.schema_version.iloc[-1], "batch_ids": g.batch_id.tolist(),
                "held": [e for s, e in zip(g.status, g.error) if s == "held"],
                "error": next((e for s, e in zip(g.status, g.error) if s == "failed"), None),
            })
        runs = pd.DataFrame(out).sort_values("started_at", kind="stable").reset_index(drop=True)
        runs["pass_rate"] = [None if not r else round(100.0 - 100.0 * q / r, 2)
                             for r, q in zip(runs["read"], runs["quarantined"])]
        return runs

    def runs_of(self, source: str) -> pd.DataFrame:
        return self.runs[self.runs.source == source].reset_index(drop=True)

    @cached_property
    def source_names(self) -> list[str]:
        return sorted(set(self.runs.source) | set(self.sources))


def plain(value: Any) -> Any:
    """A value as JSON holds it."""
    if isinstance(value, (datetime, pd.Timestamp)):
        return None if pd.isna(value) else value.isoformat(timespec="seconds")
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        return value.item()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value


def runs_kept() -> int:
    return max(1, int(os.environ.get("HUB_REPORT_RUNS", RUNS)))
