"""Faults of the hub itself: the warehouse killed under a run, a batch whose process died.

The killed warehouse is a server of its own (the session's serves every other test), joined by a
real ``hub run`` in a child process, as a user's terminal would run it."""
from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from bench.generate import generate
from conftest import scalar
from pipeline.config import REPO_ROOT
from pipeline.run import run_source
from refdata.sync import sync
from warehouse import audit
from warehouse.connect import embedded_url
from warehouse.migrate import upgrade

HUB = str(Path(sys.executable).with_name("hub"))


def dossier_registry(folder: Path, csv: Path, chunk_size: int) -> Path:
    """sources.yaml with the demo's dossier export reading ``csv`` in chunks of ``chunk_size``."""
    data = yaml.safe_load((REPO_ROOT / "sources.yaml").read_text(encoding="utf-8"))
    entry = next(s for s in data["sources"] if s["name"] == "bacgiang_dossiers_export")
    entry["options"].update(path=str(csv), chunk_size=chunk_size)
    data["sources"] = [entry]
    path = folder / "sources.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def own_warehouse(outside_tmp):
    """HUB_HOME with an embedded warehouse of its own, migrated and with the reference data."""
    home = outside_tmp("faults")
    url = embedded_url(home / "warehouse")
    engine = create_engine(url)
    upgrade(engine)
    sync(engine, ["24"])
    engine.dispose()
    return home, url


def test_a_killed_warehouse_gives_one_line_naming_stage_and_batch_and_the_next_run_abandons_it(own_warehouse):
    home, url = own_warehouse
    csv = home / "dossiers.csv"
    generate(csv, 8_000)
    env = {**os.environ, "HUB_HOME": str(home), "HUB_SOURCES": str(dossier_registry(home, csv, 250))}
    env.pop("HUB_WAREHOUSE_URL", None)
    run = subprocess.Popen([HUB, "run", "bacgiang_dossiers_export"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    watch = create_engine(url)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if scalar(watch, "SELECT count(*) FROM audit.batch WHERE status = 'succeeded'"):
            break
        time.sleep(0.05)
    watch.dispose()
    postmaster = int((home / "warehouse" / "postmaster.pid").read_text().split()[0])
    os.kill(postmaster, signal.SIGKILL)
    killed = time.monotonic()
    out, err = run.communicate(timeout=120)
    took = time.monotonic() - killed
    assert run.returncode == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: source 'bacgiang_dossiers_export', ")
    assert "the warehouse went away" in lines[0] and "Traceback" not in err
    assert took < 20, f"the run took {took:.1f} s to notice the warehouse had gone"
    print(f"postmaster killed: the run exited {took:.1f} s later with: {lines[0]}")
    # the next run restarts the server, closes the batch left open and loads the rest
    again = subprocess.run([HUB, "run", "bacgiang_dossiers_export"], env=env, capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0, again.stderr
    engine = create_engine(url)
    assert scalar(engine, "SELECT count(*) FROM audit.batch WHERE status = 'running'") == 0
    assert scalar(engine, "SELECT count(*) FROM core.dossier") + scalar(
        engine, "SELECT count(*) FROM quarantine.dossier") == 8_000
    engine.dispose()


def test_a_batch_left_running_by_a_dead_process_is_closed_as_abandoned_by_the_next_run(engine, demo_source):
    left = audit.open_batch(engine, run_id="0" * 36, source=demo_source.name, adapter="file",
                            schema_name="dossier", schema_version="1.0")
    other = audit.open_batch(engine, run_id="0" * 36, source="another_source", adapter="file",
                             schema_name="dossier", schema_version="1.0")
    result = run_source(dataclasses.replace(demo_source), engine)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT status, ended_at, error, rows_read FROM audit.batch WHERE batch_id = :b"),
                           {"b": left}).one()
        assert conn.execute(text("SELECT status FROM audit.batch WHERE batch_id = :b"), {"b": other}).scalar() \
            == "running"  # another source's batch is its own runs' business
    assert row.status == "abandoned" and row.ended_at is not None and row.rows_read == 0
    assert row.error.startswith(f"abandoned: the process running it (run {'0' * 36}, started ")
    assert result.run_id in row.error
