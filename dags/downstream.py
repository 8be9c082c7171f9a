"""The DAGs downstream of the loads: the auditors' report, the reconciliation between levels and
the operations centre's figures, scheduled on the ``core`` tables the registry's sources load
(Assets), and the reference data's refresh on a calendar. Wiring only: the bodies are in :mod:`orchestration.run`.
"""
from __future__ import annotations

import functools
import operator

from airflow.sdk import dag, task
from hub_common import START, core_asset, default_args, warehouse_url

from pipeline.config import load_sources
from orchestration.assets import core_schemas

TABLES = [core_asset(name) for name in core_schemas(load_sources().values())]
ON_ANY_LOAD = functools.reduce(operator.or_, TABLES) if TABLES else None
"""Runs once some source has loaded into any core table (an empty registry: on demand only)."""


def downstream_dag(dag_id: str, task_id: str, job: str, schedule, tags: list[str], doc_md: str):
    """A DAG of one task that calls ``orchestration.run.<job>`` with the warehouse connection."""
    @dag(dag_id=dag_id, schedule=schedule, start_date=START, catchup=False, max_active_runs=1,
         default_args=default_args(), tags=tags, doc_md=doc_md)
    def pipeline():
        @task(task_id=task_id)
        def body():
            from orchestration import run
            from orchestration.lifeline import die_with_parent

            die_with_parent()
            return getattr(run, job)(warehouse_url())

        body()

    return pipeline()


downstream_dag("quality_report", "build", "quality_report", ON_ANY_LOAD, ["quality", "report", "audit"],
               "Rebuilds the auditors' report (counts, quarantine reasons, lineage) after any load into a "
               "`core` table. The report carries no raw citizen ID and no secret.")
downstream_dag("reconciliation", "reconcile", "reconciliation", ON_ANY_LOAD, ["sync", "reconcile"],
               "Runs every reconciliation check between the levels (upward sums, across documents and "
               "beneficiaries, catalogue drift) after any load into a `core` table; findings are kept "
               "once in `audit.reconciliation`, and those that went away are marked resolved.")
downstream_dag("kpi_refresh", "refresh", "kpi_refresh", ON_ANY_LOAD, ["kpi", "ioc", "mart"],
               "Recomputes the operations centre's figures (`mart.kpi_*`: one-stop on-time rates, document "
               "processing times, social protection, reporting discipline, telemedicine, online meetings) per "
               "unit, month and level on both sides of the 2025 reform, after any load into a `core` table.")
downstream_dag("refdata_sync", "sync", "refdata_sync", "@weekly", ["refdata"],
               "Refreshes the administrative units (legacy and 2025), their crosswalk and the code lists "
               "of the provinces in `HUB_PROVINCE`. A change closes and reopens a unit, never overwrites it.")
