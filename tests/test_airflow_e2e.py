"""The source DAGs run by a real Airflow (``dag.test()``, SQLite metadata) on a real warehouse."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import yaml
from sqlalchemy import text

from conftest import scalar
from pipeline.config import REPO_ROOT, get_source
from pipeline.run import run_source

DAGS = REPO_ROOT / "dags"
SOURCE = "bacgiang_dossiers_export"
DAY = datetime(2025, 3, 14, 17, tzinfo=timezone.utc)  # midnight of 15/03/2025 in Hà Nội
CHECKSUM_SQL = ("SELECT md5(string_agg(dossier_code || row_hash || source_position, ',' ORDER BY dossier_code)) "
                "FROM core.dossier")


def get_dag(dag_id: str):
    from airflow.dag_processing.dagbag import BundleDagBag

    bag = BundleDagBag(dag_folder=DAGS, bundle_path=DAGS, bundle_name="dags-folder")
    assert not bag.import_errors
    return bag.get_dag(dag_id)


def run(dag, logical_date=DAY):
    from airflow.sdk import DagRunState

    dr = dag.test(logical_date=logical_date)
    assert dr.state == DagRunState.SUCCESS, [(ti.task_id, ti.state) for ti in dr.get_task_instances()]
    return dr


def xcom(dr, task_id: str):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.query(XComModel).filter_by(dag_id=dr.dag_id, run_id=dr.run_id, task_id=task_id,
                                                 key="return_value").one()
        return row.value


def test_the_dossier_dag_loads_the_manifest_and_a_rerun_of_its_date_adds_nothing(airflow_home, engine, manifest):
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    dag = get_dag(SOURCE)
    first = run(dag)
    summary = xcom(first, "load")
    e = manifest["expected"]
    assert summary["counts"] == {"read": e["read"], "inserted": e["inserted"], "updated": 0, "unchanged": 0,
                                 "quarantined": e["quarantined"]}
    assert summary["interval"] == [(DAY - timedelta(days=1)).isoformat(), DAY.isoformat()]  # the day before
    assert len(json.dumps(summary)) < 1000 and "postgresql" not in json.dumps(summary)  # references, not data
    assert scalar(engine, "SELECT count(*) FROM core.dossier") == e["inserted"]
    before = scalar(engine, CHECKSUM_SQL)

    again = run(dag)  # the same logical date, cleared and run again
    assert again.logical_date == first.logical_date
    assert xcom(again, "load")["counts"] == {"read": 0, "inserted": 0, "updated": 0, "unchanged": 0, "quarantined": 0}
    assert scalar(engine, CHECKSUM_SQL) == before
    assert scalar(engine, "SELECT count(*) FROM quarantine.dossier") == e["quarantined"]
    assert scalar(engine, "SELECT max(times_seen) FROM quarantine.dossier") == 1
    # the audit trail keeps both attempts
    assert scalar(engine, "SELECT count(DISTINCT run_id) FROM audit.batch WHERE source = :s", s=SOURCE) == 2
    with create_session() as session:  # the first run told Airflow that core.dossier changed, and how;
        # the rerun changed nothing and said nothing, so the downstream DAGs do not run for it
        events = session.query(AssetEvent).filter(AssetEvent.source_run_id.in_([first.run_id, again.run_id])) \
            .order_by(AssetEvent.id).all()
        assert [(ev.source_run_id, ev.asset.name, ev.extra["inserted"]) for ev in events] == \
            [(first.run_id, "core.dossier", e["inserted"])]


def test_a_load_that_fails_midway_is_retried_into_a_clean_load(airflow_home, engine, manifest, tmp_path,
                                                                monkeypatch, interrupt_merge):
    registry = yaml.safe_load((REPO_ROOT / "sources.yaml").read_text(encoding="utf-8"))
    options = registry["sources"][0]["options"]
    options.update(path=str(REPO_ROOT / options["path"]), chunk_size=1000)  # four batches
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("HUB_SOURCES", str(tmp_path / "sources.yaml"))
    heal = interrupt_merge(3)  # the warehouse drops the connection while batch 3 loads
    dag = get_dag(SOURCE)
    dag.get_task("load").retry_delay = timedelta(0)
    dr = run(dag, DAY + timedelta(days=1))
    assert dr.get_task_instance("load").try_number == 2
    statuses = scalar(engine, "SELECT string_agg(status, ',' ORDER BY batch_id) FROM audit.batch")
    assert statuses == "succeeded,succeeded,failed,succeeded,succeeded"  # the audit trail keeps the attempt
    assert scalar(engine, "SELECT count(*) FROM core.dossier") == manifest["expected"]["inserted"]
    retried = warehouse_state(engine)
    # what a clean load leaves, from an empty warehouse with the same registry
    heal()
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE core.dossier, quarantine.dossier, audit.watermark"))
    clean = run_source(get_source(SOURCE), engine)
    assert [b.status for b in clean.batches] == ["succeeded"] * 4
    assert warehouse_state(engine) == retried


def warehouse_state(engine):
    quarantine = ("SELECT string_agg(source_position || array_to_string(failed_checks, '+') || times_seen, ',' "
                  "ORDER BY source_position) FROM quarantine.dossier")
    return scalar(engine, CHECKSUM_SQL), scalar(engine, quarantine)


def test_the_downstream_dags_run(airflow_home, engine, tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_HOME", str(tmp_path))
    run_source(get_source(SOURCE), engine)
    summary = xcom(run(get_dag("reconciliation")), "reconcile")
    assert summary["findings"] == scalar(engine, "SELECT count(*) FROM audit.reconciliation WHERE status = 'open'")
    page = xcom(run(get_dag("quality_report")), "build")
    assert page == str(tmp_path / "reports" / "quality_report.html")
    figures = json.loads((tmp_path / "reports" / "quality_report.json").read_text(encoding="utf-8"))
    assert SOURCE in json.dumps(figures) and "postgresql" not in json.dumps(figures)
    refreshed = xcom(run(get_dag("refdata_sync")), "sync")  # the units are already there: nothing new
    assert refreshed["inserted"] == 0 and refreshed["unchanged"] > 0
    kpi = xcom(run(get_dag("kpi_refresh")), "refresh")  # the operations centre's figures, from the same load
    assert kpi["rows"]["dossier"] == scalar(engine, "SELECT count(*) FROM mart.kpi_dossier") > 0


def test_the_readmes_backfill_makes_one_run_per_date_asked_in_the_dags_time_zone(airflow_home):
    """Three dates asked, three runs: the README gives them with Vietnam's offset (plain dates are
    UTC midnights, and a day of a DAG in Asia/Ho_Chi_Minh starts at 17:00 UTC the day before)."""
    import re

    from airflow.models.backfill import _get_info_list
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.timezone import parse

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    asked = re.search(r"--from-date (\S+) --to-date (\S+)\s+# 3 runs", readme)
    dag = DagSerialization.from_dict(DagSerialization.to_dict(get_dag(SOURCE)))  # as the scheduler has it

    def days(from_date: str, to_date: str) -> list[str]:
        infos = _get_info_list(from_date=parse(from_date), to_date=parse(to_date), reverse=False, dag=dag)
        return [i.data_interval.start.in_timezone("Asia/Ho_Chi_Minh").strftime("%d/%m") for i in infos]

    assert days(*asked.groups()) == ["01/03", "02/03", "03/03"]
    assert days("2025-03-01", "2025-03-03") == ["02/03", "03/03"]  # what plain dates would have made
