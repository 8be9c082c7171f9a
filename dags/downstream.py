"""The DAGs downstream of the loads: the auditors' report and the reconciliation between levels,
scheduled on the ``core`` tables the registry's sources load (Assets), and the reference data's
refresh on a calendar. Wiring only: the bodies are in :mod:`orchestration.run`.
"""
from __future__ import annotations

import functools
import operator

from airflow.sdk import dag, task
from hub_common import START, core_asset, default_args, warehouse_url

from hub.config import load_sources
from orchestration.assets import core_schemas

TABLES = [core_asset(name) for name in core_schemas(load_sources().values())]
ON_ANY_LOAD = functools.reduce(operator.or_, TABLES) if TABLES else None
"""Runs once some source has loaded into any core table (an empty registry: on demand only)."""


@dag(dag_id="quality_report", schedule=ON_ANY_LOAD, start_date=START, catchup=False, max_active_runs=1,
     default_args=default_args(), tags=["quality", "report", "audit"],
     doc_md="Rebuilds the auditors' report (counts, quarantine reasons, lineage) after any load into a "
            "`core` table. The report carries no raw citizen ID and no secret.")
def quality_report():
    @task
    def build() -> str:
        from orchestration.run import quality_report as build_report

        return build_report(warehouse_url())

    build()


@dag(dag_id="reconciliation", schedule=ON_ANY_LOAD, start_date=START, catchup=False, max_active_runs=1,
     default_args=default_args(), tags=["sync", "reconcile"],
     doc_md="Runs every reconciliation check between the levels (upward sums, across documents and "
            "beneficiaries, catalogue drift) after any load into a `core` table; findings are kept "
            "once in `audit.reconciliation`, and those that went away are marked resolved.")
def reconciliation():
    @task
    def reconcile() -> dict:
        from orchestration.run import reconciliation as run

        return run(warehouse_url())

    reconcile()


@dag(dag_id="refdata_sync", schedule="@weekly", start_date=START, catchup=False, max_active_runs=1,
     default_args=default_args(), tags=["refdata"],
     doc_md="Refreshes the administrative units (legacy and 2025), their crosswalk and the code lists "
            "of the provinces in `HUB_PROVINCE`. A change closes and reopens a unit, never overwrites it.")
def refdata_sync():
    @task
    def sync() -> dict:
        from orchestration.run import refdata_sync as run

        return run(warehouse_url())

    sync()


quality_report()
reconciliation()
refdata_sync()
