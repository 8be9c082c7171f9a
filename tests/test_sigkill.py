"""SIGKILL at seeded points of a multi-batch load: the warehouse ends identical to an uninterrupted
run, every rerun resumes at the last committed batch, and no batch is left ``running``.

A kill point is (batches committed so far, a delay after that): the kill falls in whatever the
run is doing then (start-up and migration checks, the checksum, reading, mapping, validating, the
COPY, the merge, the watermark). CI runs a handful; the full 40:

    HUB_KILL_POINTS=40 .venv/bin/python -m pytest tests/test_sigkill.py
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.generate import generate
from conftest import fresh_database, scalar
from pipeline.config import load_sources
from pipeline.run import run_source
from test_hub_faults import dossier_registry

HUB = str(Path(sys.executable).with_name("hub"))
SOURCE = "bacgiang_dossiers_export"
ROWS, CHUNK = 3000, 200
KILL_POINTS = int(os.environ.get("HUB_KILL_POINTS", "5"))
SEED = int(os.environ.get("HUB_KILL_SEED", "11"))

STATE = {
    "core": "SELECT count(*), md5(string_agg(dossier_code || row_hash || source_position || source, ',' "
            "ORDER BY dossier_code)) FROM core.dossier",
    "quarantine": "SELECT count(*), md5(string_agg(source_position || reason || raw_record::text || "
                  "failed_checks::text || times_seen, ',' ORDER BY source_position, row_hash)) FROM quarantine.dossier",
    "counts": "SELECT sum(rows_read), sum(rows_inserted), sum(rows_updated), sum(rows_unchanged), "
              "sum(rows_quarantined) FROM audit.batch WHERE status IN ('succeeded', 'held')",
}


def state(engine) -> dict:
    with engine.connect() as conn:
        return {k: tuple(conn.exec_driver_sql(sql).one()) for k, sql in STATE.items()}


def committed(engine) -> int:
    return scalar(engine, "SELECT count(*) FROM audit.batch WHERE status = 'succeeded'")


def test_sigkill_at_seeded_points_leaves_the_warehouse_as_an_uninterrupted_run(template_url, outside_tmp):
    folder = outside_tmp("sigkill")
    csv = folder / "dossiers.csv"
    generate(csv, ROWS, seed=5)
    registry = dossier_registry(folder, csv, CHUNK)
    batches = -(-ROWS // CHUNK)
    rnd = random.Random(SEED)
    points = sorted((rnd.randrange(0, batches), rnd.uniform(0, 0.6)) for _ in range(KILL_POINTS))
    with fresh_database(template_url) as (reference, _):
        run_source(load_sources(registry)[SOURCE], reference)
        expected = state(reference)
    with fresh_database(template_url) as (engine, url):
        env = {**os.environ, "HUB_WAREHOUSE_URL": url, "HUB_SOURCES": str(registry),
               "HUB_HOME": str(folder / "home")}
        killed = 0
        for after, delay in points:
            run = subprocess.Popen([HUB, "run", SOURCE, "--wait", "60"], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
            while run.poll() is None and committed(engine) < after:
                time.sleep(0.02)
            time.sleep(delay)
            if run.poll() is None:
                run.send_signal(signal.SIGKILL)
                killed += 1
            run.wait(timeout=60)
        final = subprocess.run([HUB, "run", SOURCE, "--wait", "60"], env=env, capture_output=True, text=True,
                               timeout=600)
        assert final.returncode == 0, final.stderr
        assert killed >= min(KILL_POINTS, 3), f"only {killed} of {KILL_POINTS} kills fell inside a run"
        assert state(engine) == expected
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM audit.batch WHERE status = 'running'").scalar() == 0
            # every committed batch starts where the one before it ended: each rerun resumed at the last commit
            chain = conn.exec_driver_sql(
                "SELECT position_start, position_end FROM audit.batch WHERE status = 'succeeded' "
                "ORDER BY batch_id").all()
        assert len(chain) == batches
        assert all(b.position_start == a.position_end for a, b in zip(chain, chain[1:]))
        print(f"{killed} SIGKILLs at seeded points (seed {SEED}) over {batches} batches: warehouse identical "
              f"to the uninterrupted run")
