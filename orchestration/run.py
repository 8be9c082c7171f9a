"""The bodies of the Airflow tasks: a source's load for a data interval, and the jobs downstream.

Each returns a small summary (counts, ids, a path) that is safe for XCom and the task log:
never records, never a URL or a credential. Everything heavy is imported when a task runs.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import asdict
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)


def warehouse(url: str | None = None):
    """The warehouse engine, migrated and with its reference data; ``url`` comes from an Airflow
    connection when the deployment defines one, else ``HUB_WAREHOUSE_URL`` or the embedded server."""
    from pipeline.run import prepare_warehouse
    from warehouse.connect import get_engine, postgres_url

    engine = get_engine(postgres_url(url, "the warehouse connection") if url else None)
    prepare_warehouse(engine)
    return engine


LOCK_WAIT = 3600.0
"""How long a task waits for another run of its source (a backfill's own runs queue on it)."""


def load_source(name: str, *, interval: tuple[datetime | None, datetime | None] = (None, None),
                full_refresh: bool = False, warehouse_url: str | None = None) -> dict[str, Any]:
    """Load what the source holds that the warehouse lacks, up to now, for the run of ``interval``.

    The source's watermark, not the interval, decides what is read (see docs/DECISIONS.md, "Airflow"): a rerun
    or a backfill of an interval already loaded reads nothing new and changes nothing, and each
    attempt leaves its rows in ``audit.batch`` under the returned ``audit_run_id``.
    """
    from pipeline.config import get_source
    from pipeline.run import run_source

    source = get_source(name)
    engine = warehouse(warehouse_url)
    result = run_source(source, engine, full_refresh=full_refresh, wait=LOCK_WAIT)
    ids = [b.batch_id for b in result.batches]
    summary = {
        "source": name, "schema": source.schema, "audit_run_id": result.run_id,
        "interval": [t.isoformat() if t else None for t in interval],
        "batches": len(ids), "first_batch_id": ids[0], "last_batch_id": ids[-1],
        "counts": result.totals, "held_batch_ids": [b.batch_id for b in result.held],
    }
    log.info("source %s, interval %s: %s", name, summary["interval"], summary["counts"])
    return summary


def changed(summary: dict[str, Any]) -> bool:
    """Whether the load inserted or updated a row of ``core``: only then do the DAGs downstream run."""
    return bool(summary["counts"]["inserted"] or summary["counts"]["updated"])


def held_message(summary: dict[str, Any]) -> str | None:
    """Why a load must not be retried: a held batch is a broken source, not a passing fault."""
    held = summary["held_batch_ids"]
    if not held:
        return None
    return (f"source {summary['source']!r}: {len(held)} batch(es) held whole as a broken source "
            f"(audit.batch ids {', '.join(map(str, held))}); retrying will not help, see the quarantine")


def quality_report(warehouse_url: str | None = None) -> str:
    """Rebuild the auditors' report; returns where it was written."""
    from report import build_report

    return str(build_report(warehouse(warehouse_url)))


def reconciliation(warehouse_url: str | None = None) -> dict[str, Any]:
    """Every check between the levels; findings are kept once in ``audit.reconciliation``."""
    from sync.reconcile import reconcile

    result = reconcile(warehouse(warehouse_url))
    by_check = dict(Counter(f.check for f in result.findings))
    return {"reconcile_run_id": result.run_id, "findings": len(result.findings),
            "resolved": result.resolved, "by_check": by_check}


def kpi_refresh(warehouse_url: str | None = None) -> dict[str, Any]:
    """The operations centre's figures (``mart.kpi_*``), recomputed in one transaction."""
    from kpi import refresh

    result = refresh(warehouse(warehouse_url))
    return {"rows": result.rows, "refreshed_at": result.refreshed_at.isoformat(timespec="seconds")}


def refdata_sync(warehouse_url: str | None = None) -> dict[str, Any]:
    """Refresh the administrative units, crosswalk and code lists of the provinces served."""
    from refdata.sync import served_provinces
    from sync.publish import refresh_and_publish

    return asdict(refresh_and_publish(warehouse(warehouse_url), served_provinces()))
