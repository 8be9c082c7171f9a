"""One run per source, enforced by the library: two `hub run` of one source never both load."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import scalar
from warehouse.lock import one_run_per_source

SOURCE = "bacgiang_dossiers_export"
HUB = Path(sys.executable).parent / "hub"


def _hub(*args: str) -> subprocess.Popen:
    return subprocess.Popen([HUB, "run", SOURCE, *args], env=dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _core_state(engine) -> tuple:
    return (scalar(engine, "SELECT count(*) FROM core.dossier"),
            scalar(engine, "SELECT md5(string_agg(dossier_code || row_hash, ',' ORDER BY dossier_code)) FROM core.dossier"),
            scalar(engine, "SELECT count(*) FROM quarantine.dossier"))


def test_two_runs_started_together_load_once(engine, manifest):
    first, second = _hub(), _hub()
    outs = [p.communicate(timeout=300) + (p.returncode,) for p in (first, second)]
    e = manifest["expected"]
    loaded = [o for o in outs if o[2] == 0 and f"inserted {e['inserted']}," in o[0]]
    assert len(loaded) == 1, outs
    (other,) = [o for o in outs if o is not loaded[0]]
    assert "Traceback" not in other[1]
    if other[2] == 1:  # it found the first under way and said so in one line
        assert other[1].strip().splitlines() == [
            f"error: source '{SOURCE}' is being loaded by " + other[1].split("is being loaded by ", 1)[1].strip()]
        assert "pass --wait SECONDS" in other[1]
    else:  # it came after the first had finished: nothing new to read
        assert other[2] == 0 and "inserted 0, updated 0" in other[0]
    assert scalar(engine, "SELECT count(*) FROM core.dossier") == e["inserted"]
    assert scalar(engine, "SELECT sum(rows_inserted) FROM audit.batch") == e["inserted"]


def test_a_second_run_stops_naming_the_holder_or_waits_for_it(engine, manifest):
    with one_run_per_source(engine, SOURCE, "0123456789abcdef"):
        waiting = _hub("--wait", "120")
        busy = _hub()
        out, errors = busy.communicate(timeout=120)
        assert busy.returncode == 1 and "Traceback" not in errors
        line, = errors.strip().splitlines()
        assert line.startswith(f"error: source '{SOURCE}' is being loaded by lienthong run 01234567 of {SOURCE} "
                               "(server pid ")
        time.sleep(1.0)
        assert waiting.poll() is None  # still waiting for the lock
        assert scalar(engine, "SELECT count(*) FROM audit.batch") == 0
    out, errors = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, errors
    assert f"inserted {manifest['expected']['inserted']}," in out
    once = _core_state(engine)
    again = _hub()
    assert again.wait(timeout=300) == 0
    assert _core_state(engine) == once


def test_different_sources_do_not_wait_for_each_other(engine):
    with one_run_per_source(engine, "some_other_source", "abc"):
        with one_run_per_source(engine, SOURCE, "def"):  # would raise at once if the keys collided
            assert scalar(engine, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted") == 2
