"""One DAG per source of ``sources.yaml`` (or ``HUB_SOURCES``): a new entry is a new DAG, no code.

Wiring only: the registry gives the DAG's id, schedule, owner, tags, description and the pool of
the department system; the task's body is :func:`orchestration.run.load_source`, imported when it
runs. Parsing reads ``sources.yaml`` and nothing else, and opens no connection.

One task, ``load``, not extract/validate/load/audit: the pipeline commits each batch together with
its audit row and watermark, and checks batch n+1 while n loads; split into tasks, the records would
have to be staged between them for no gain (see docs/DECISIONS.md, "Airflow").
"""
from __future__ import annotations

from airflow.sdk import AssetAlias, CronDataIntervalTimetable, Param, dag, get_current_context, task
from hub_common import START, core_asset, default_args, warehouse_url

from pipeline.config import SourceConfig, load_sources


def timetable(source: SourceConfig):
    """A cron schedule in the source's time zone, each run covering the interval since the last one
    (Airflow 3 would otherwise give a cron string a zero-width interval)."""
    if not source.schedule or source.schedule in ("@once", "@continuous"):
        return source.schedule
    return CronDataIntervalTimetable(source.schedule, timezone=source.timezone)


def source_dag(source: SourceConfig):
    table = core_asset(source.schema)

    @dag(
        dag_id=source.name,
        description=f"{source.adapter} -> core.{source.schema}",
        doc_md=source.description or f"Source {source.name} ({source.adapter} -> {source.schema}).",
        schedule=timetable(source),
        start_date=START,
        # The watermark already carries every run from where the last one stopped: catching up missed
        # intervals would only queue runs that find nothing new; a backfill is asked for explicitly.
        catchup=False,
        # Runs of one source share its watermark: two at once would read the same increment.
        max_active_runs=1,
        default_args=default_args(source.owner),
        tags=sorted({*source.tags, source.adapter, source.schema}),
        params={"full_refresh": Param(False, type="boolean",
                                      description="re-read the source from the start, ignoring the watermark")},
    )
    def pipeline():
        # The load names its table through an alias, so that a run which changed nothing emits no
        # event on it and the downstream DAGs do not run for nothing.
        changes = AssetAlias(f"changes:{source.name}")

        @task(task_id="load", outlets=[changes], pool=source.pool or "default_pool", pool_slots=1)
        def load() -> dict:
            """Extract, map, validate, load and audit every batch the source has after its watermark."""
            from airflow.sdk.exceptions import AirflowFailException

            from orchestration.lifeline import die_with_parent
            from orchestration.run import changed, held_message, load_source

            die_with_parent()  # a worker killed mid-load takes its load with it
            context = get_current_context()
            summary = load_source(source.name, full_refresh=bool(context["params"]["full_refresh"]),
                                  interval=(context.get("data_interval_start"), context.get("data_interval_end")),
                                  warehouse_url=warehouse_url())
            held = held_message(summary)
            if held:
                raise AirflowFailException(held)
            if changed(summary):
                context["outlet_events"][changes].add(table, extra={"source": source.name, **summary["counts"]})
            return summary

        load()

    return pipeline()


for _source in load_sources().values():
    source_dag(_source)
