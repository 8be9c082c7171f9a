"""Issue 14: Airflow's distributed engine for real, started by ``hub cluster up --workers 2 --demo``.

One cluster for the module (it costs minutes on two cores): the demo's DAGs run on both workers;
then a bulk dossier load of many batches is triggered and, while it runs, the worker running it is
SIGKILLed; the load resumes on the other worker within the recovery bound (measured with nothing
else queued: a retry waits behind whatever the worker left has queued). Then the warehouse is
compared with ``hub demo`` (and a clean bulk load) run in a database of its own, a load that
changes nothing is checked to trigger nothing downstream, and the cluster is stopped.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from sqlalchemy import create_engine, text

from conftest import fresh_database
from orchestration.cluster import alive, in_sessions, read_state
from pipeline.config import REPO_ROOT

HUB = str(Path(sys.executable).with_name("hub"))
KEY = "cluster-test-pii-key"
BULK, LATE = "bulk_dossiers", "late_dossiers"
DOWNSTREAM = ("quality_report", "reconciliation", "refdata_sync")
RECOVERY_BOUND = 120  # seconds from the kill to the load running again on the other worker
CORE = ("dossier", "dossier_statistic", "official_document", "document_trace", "social_beneficiary", "enterprise",
        "indicator_report", "catalogue_entry")


class Airflow:
    """The cluster's REST API (api-server on 127.0.0.1), as the admin user."""

    def __init__(self, url: str, passwords: Path):
        self.url = url
        password = json.loads(passwords.read_text())["admin"]
        self.token = self.call("POST", "/auth/token", {"username": "admin", "password": password})["access_token"]

    def call(self, method: str, path: str, body=None):
        headers = {"Content-Type": "application/json"}
        if getattr(self, "token", None):
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url + path, method=method, headers=headers,  # noqa: S310 - an http URL on 127.0.0.1 we built
                                         data=None if body is None else json.dumps(body).encode())
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - an http URL on 127.0.0.1 we built
            return json.loads(response.read() or b"null")

    def trigger(self, dag_id: str) -> str:
        return self.call("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None})["dag_run_id"]

    def dag_ids(self) -> set[str]:
        return {d["dag_id"] for d in self.call("GET", "/api/v2/dags?limit=200")["dags"]}


def rows(engine, sql: str, **params) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql), params).mappings()]


def wait_for(what: str, check, timeout: float, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"{what}: not after {timeout:.0f} s")


def warehouse_state(engine) -> dict:
    """Per core table: rows and a checksum over natural key and row hash; per quarantine table: rows."""
    from sqlalchemy import inspect

    out = {}
    for name in CORE:
        key = inspect(engine).get_pk_constraint(name, schema="core")["constrained_columns"]  # the natural key
        concat = " || '|' || ".join(f'coalesce("{k}"::text, \'\')' for k in key)  # constant names
        out[name] = rows(engine, f"SELECT count(*) AS n, md5(string_agg({concat} || '#' || row_hash, ',' "
                                 f"ORDER BY {concat})) AS sum, count(DISTINCT ({concat})) AS keys FROM core.{name}")[0]
        out[f"quarantine.{name}"] = rows(engine, f"SELECT count(*) AS n FROM quarantine.{name}")[0]["n"]
    return out


@pytest.fixture(scope="module")
def cluster(outside_tmp):
    home = outside_tmp("cluster")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "HUB_"))}
    env.update(HUB_HOME=str(home), HUB_PII_KEY=KEY)
    started = time.monotonic()
    up = subprocess.run([HUB, "cluster", "up", "--workers", "2", "--demo"], env=env, capture_output=True,
                        text=True, timeout=900)
    took = time.monotonic() - started
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        state = read_state(home / "cluster")
        procs = state["processes"]
        warehouse = create_engine(state["warehouse_url"])
        metadata_url = _metadata_url(home)
        yield SimpleNamespace(home=home, env=env, state=state, procs=procs, took=took,
                              api=Airflow(state["api_url"], home / "cluster" / "airflow" / "passwords.json.generated"),
                              warehouse=warehouse, metadata=create_engine(metadata_url))
    finally:
        subprocess.run([HUB, "cluster", "down"], env=env, capture_output=True, timeout=300)


def _metadata_url(home: Path) -> str:
    import configparser

    cfg = configparser.ConfigParser()  # Airflow's own file: %% is a %
    cfg.read(home / "cluster" / "airflow" / "airflow.cfg")
    return cfg["database"]["sql_alchemy_conn"]


@pytest.fixture(scope="module")
def runs(cluster):
    """Every demo DAG triggered; then a bulk load of 30 batches, its worker killed mid-load."""
    registry = Path(cluster.state["sources"])
    data = yaml.safe_load(registry.read_text(encoding="utf-8"))
    demo_dags = [s["name"] for s in data["sources"]]
    data["sources"] += [bulk_source(), late_source(cluster.home)]
    registry.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    # the downstream DAGs wait until the loads are done (each would otherwise run after most loads,
    # minutes of CPU on two cores); test_a_load_that_inserts_triggers_the_downstream_dags... runs them
    for dag in DOWNSTREAM:
        cluster.api.call("PATCH", f"/api/v2/dags/{dag}", {"is_paused": True})
    wait_for("the bulk DAG parsed", lambda: {BULK, LATE} <= cluster.api.dag_ids(), 120)

    def finished(run_ids):
        states = rows(cluster.metadata, "SELECT dag_id, state FROM dag_run WHERE run_id = ANY(:r)",
                      r=list(run_ids.values()))
        done = len(states) == len(run_ids) and all(s["state"] in ("success", "failed") for s in states)
        return {s["dag_id"]: s["state"] for s in states} if done else None

    run_ids = {dag: cluster.api.trigger(dag) for dag in demo_dags}  # on both workers
    states = wait_for("the demo's runs finished", lambda: finished(run_ids), 900, every=2)

    run_ids[BULK] = cluster.api.trigger(BULK)

    def mid_load():
        done = rows(cluster.warehouse, "SELECT count(*) AS n FROM audit.batch WHERE source = :s AND status = "
                                       "'succeeded'", s=BULK)[0]["n"]
        return done >= 2 and rows(cluster.metadata, "SELECT hostname, pid FROM task_instance WHERE dag_id = :d "
                                                    "AND state = 'running'", d=BULK)
    running = wait_for("the bulk load past its second batch", mid_load, 400, every=0.3)[0]
    victim = running["hostname"].split("@")[0]
    task_pid = running["pid"]  # the task's own process, as its supervisor reported it
    assert isinstance(task_pid, int) and alive(task_pid)
    os.kill(cluster.procs[victim]["pid"], signal.SIGKILL)
    killed_at = time.time()
    task_died = wait_for("the task's process dead", lambda: not alive(task_pid), 30, every=0.1) and time.time()

    def retried():
        return rows(cluster.metadata, "SELECT hostname, try_number, start_date, state FROM task_instance "
                                      "WHERE dag_id = :d AND try_number >= 2 AND state IN ('running', 'success')",
                    d=BULK)
    again = wait_for("the bulk load running again", retried, RECOVERY_BOUND + 60)[0]
    recovery = again["start_date"].timestamp() - killed_at
    states.update(wait_for("the bulk load finished", lambda: finished({BULK: run_ids[BULK]}), 600, every=2))
    print(f"\ncluster up in {cluster.took:.0f} s; the task's process died {task_died - killed_at:.1f} s after its "
          f"worker; the load ran again on the other worker {recovery:.0f} s after the kill")
    return SimpleNamespace(run_ids=run_ids, states=states, victim=victim,
                           task_died_after=task_died - killed_at, killed_at=killed_at, recovery=recovery,
                           again=again, demo_dags=demo_dags)


def bulk_source() -> dict:
    """The bundled dossier export, read 100 rows a batch: long enough to be killed in the middle."""
    registry = yaml.safe_load((REPO_ROOT / "sources.yaml").read_text(encoding="utf-8"))
    source = dict(registry["sources"][0], name=BULK, schedule=None)
    source["options"] = {**source["options"], "path": str(REPO_ROOT / source["options"]["path"]), "chunk_size": 100}
    for key in ("pool", "pool_slots"):
        source.pop(key)
    return source


def late_source(folder: Path) -> dict:
    """Two dossiers no other source holds, loaded last: a load that inserts, to run the DAGs downstream."""
    from conftest import demo_rows, write_csv

    header, clean = demo_rows()
    rows_ = [[f"G24.991231.00000{i}", *row[1:]] for i, row in enumerate(clean[:2], 1)]
    path = write_csv(folder / "late_dossiers.csv", header, rows_)
    source = bulk_source()
    source.update(name=LATE, options={**source["options"], "path": str(path)})
    return source


@pytest.fixture(scope="module")
def reference(template_url, tmp_path_factory):
    """What ``hub demo`` and a clean bulk load leave, in a database and a HUB_HOME of their own."""
    from demo.run import run_demo
    from pipeline.config import load_sources
    from pipeline.run import run_source

    home = tmp_path_factory.mktemp("reference")
    with fresh_database(template_url) as (engine, _), pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUB_HOME", str(home))
        mp.setenv("HUB_PII_KEY", KEY)
        run_demo(engine)
        registry = home / "extra.yaml"
        registry.write_text(yaml.safe_dump({"sources": [bulk_source(), late_source(home)]}, allow_unicode=True),
                            encoding="utf-8")
        for source in load_sources(registry).values():
            run_source(source, engine)
        yield warehouse_state(engine)


def test_the_components_listen_on_127_0_0_1_only_and_every_worker_gets_the_same_environment(cluster):
    procs = cluster.procs
    assert {"redis", "metadata-postgres", "warehouse-postgres", "demo", "api-server", "scheduler", "dag-processor",
            "triggerer", "worker-1", "worker-2"} == set(procs)
    for name, p in procs.items():
        assert alive(p["pid"]), name
        assert (cluster.home / "cluster" / f"{name}.pid").is_file() or name.endswith("postgres")
    ours = set(in_sessions([p["pid"] for p in procs.values()]))
    listening = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True).stdout.splitlines()
    for line in listening:
        if any(f"pid={pid}," in line for pid in ours):
            assert line.split()[3].startswith("127.0.0.1:"), line
    # every Airflow part and worker got the same settings, compared by digest (Celery's process titles
    # overwrite /proc/<pid>/environ); that the key is the one asked for shows in the warehouse, whose
    # keyed hashes of citizen IDs equal those of a `hub demo` run with it
    assert {p["settings"] for name, p in procs.items() if "settings" in p} == {cluster.state["settings"]}
    assert {n for n, p in procs.items() if "settings" in p} == {"api-server", "scheduler", "dag-processor",
                                                                 "triggerer", "worker-1", "worker-2"}
    assert cluster.state["sources"] == str(cluster.home / "demo" / "sources.yaml")
    pools = {p["name"]: p["slots"] for p in cluster.api.call("GET", "/api/v2/pools")["pools"]}
    assert pools["demo_so_lao_dong_tbxh"] == 2 and pools["demo_so_tttt_bacgiang"] == 2


def test_a_worker_killed_mid_load_the_load_resumes_on_the_other_within_the_bound(cluster, runs):
    assert runs.recovery < RECOVERY_BOUND, runs.recovery
    survivor = ({"worker-1", "worker-2"} - {runs.victim}).pop()
    assert runs.again["hostname"].startswith(survivor)
    assert runs.task_died_after < 5  # the killed worker's task process died with it
    batches = rows(cluster.warehouse, "SELECT status, count(*) AS n FROM audit.batch GROUP BY status")
    assert "running" not in {b["status"] for b in batches}
    bulk = rows(cluster.warehouse, "SELECT run_id, status, error, position_start, position_end, ended_at "
                                   "FROM audit.batch WHERE source = :s ORDER BY batch_id", s=BULK)
    killed = [b for b in bulk if b["run_id"] == bulk[0]["run_id"]]
    retry = [b for b in bulk if b["run_id"] != bulk[0]["run_id"]]
    assert killed and retry and len({b["run_id"] for b in retry}) == 1  # the killed attempt and the retry
    committed = [b for b in killed if b["status"] == "succeeded"]
    assert len(committed) >= 2 and max(b["ended_at"] for b in committed).timestamp() < runs.killed_at + 1
    # a batch open when the worker died rolled back; the retry marked it failed ("abandoned")
    assert all(b["status"] == "succeeded" or b["error"].startswith("abandoned") for b in killed)
    # the retry began after the last batch the killed attempt committed, not from the start
    assert retry[0]["position_start"] == committed[-1]["position_end"]
    assert all(b["status"] == "succeeded" for b in retry) and retry[-1]["position_end"]["complete"]
    duplicates = rows(cluster.warehouse, "SELECT dossier_code FROM core.dossier GROUP BY 1 HAVING count(*) > 1")
    assert duplicates == []


def test_a_load_that_inserts_triggers_the_downstream_dags_and_one_that_changes_nothing_does_not(cluster, runs):
    events = "SELECT count(*) AS n FROM asset_event WHERE source_run_id = :r"
    assert rows(cluster.metadata, events, r=runs.run_ids[BULK])[0]["n"] == 1  # it inserted: one event
    for dag in DOWNSTREAM[:2]:
        cluster.api.call("PATCH", f"/api/v2/dags/{dag}", {"is_paused": False})
    downstream = ("SELECT dag_id, state FROM dag_run WHERE dag_id IN ('quality_report', 'reconciliation') "
                  "AND run_type = 'asset_triggered'")
    before = rows(cluster.metadata, downstream)
    inserting = cluster.api.trigger(LATE)

    def downstream_done():
        found = rows(cluster.metadata, downstream)
        return len(found) == len(before) + 2 and all(r["state"] == "success" for r in found)
    wait_for("quality_report and reconciliation after the inserting load", downstream_done, 400, 2)
    assert rows(cluster.metadata, events, r=inserting)[0]["n"] == 1
    after = rows(cluster.metadata, downstream)
    again = cluster.api.trigger("demo_dkkd_enterprises")  # already loaded: reads nothing new
    wait_for("the rerun finished", lambda: rows(cluster.metadata, "SELECT state FROM dag_run WHERE run_id = :r",
                                                r=again)[0]["state"] == "success", 300, 1)
    time.sleep(12)  # two scheduler loops' worth for an asset-triggered run to appear, if one were due
    assert rows(cluster.metadata, events, r=again)[0]["n"] == 0
    assert rows(cluster.metadata, downstream) == after


def test_the_demo_runs_on_both_workers_and_the_warehouse_equals_hub_demo(cluster, runs, reference):
    assert runs.states == {dag: "success" for dag in runs.run_ids}  # the demo's 19 sources and the bulk load
    hosts = {r["hostname"].split("@")[0] for r in rows(
        cluster.metadata, "SELECT DISTINCT hostname FROM task_instance WHERE run_id = ANY(:r) AND hostname <> ''",
        r=list(runs.run_ids.values()))}
    assert hosts == {"worker-1", "worker-2"}
    assert warehouse_state(cluster.warehouse) == reference




def test_the_cluster_stops_leaving_no_process_of_its_own(cluster, runs):
    pids = [p["pid"] for p in cluster.procs.values()]
    down = subprocess.run([HUB, "cluster", "down"], env=cluster.env, capture_output=True, text=True, timeout=300)
    assert down.returncode == 0, down.stderr
    assert not [pid for pid in pids if alive(pid)]
    left = {pid: Path(f"/proc/{pid}/cmdline").read_bytes()[:200] for pid in in_sessions(pids)}
    assert left == {}  # nothing they started outlived them (Celery's pool, a task's process)
    status = subprocess.run([HUB, "cluster", "status"], env=cluster.env, capture_output=True, text=True)
    assert status.returncode == 1 and "no cluster" in status.stderr
