"""What the Airflow tasks run, without Airflow: the warehouse from a connection, one run per source
at a time, the pools file, the local signing secret."""
from __future__ import annotations

import stat
import threading
import time

import pytest
from sqlalchemy.engine import make_url

from conftest import scalar
from pipeline.config import ConfigError
from orchestration.local_secret import local_secret
from orchestration.pools import pools
from orchestration.run import load_source
from warehouse.lock import one_run_per_source

SOURCE = "bacgiang_dossiers_export"


def test_a_second_run_of_a_source_waits_for_the_first_and_the_connection_names_the_warehouse(
        engine, manifest, monkeypatch):
    # the URL as an Airflow connection hands it over (postgres://), and no HUB_WAREHOUSE_URL to fall back on
    url = make_url(engine.url.render_as_string(hide_password=False)).set(drivername="postgres")
    monkeypatch.delenv("HUB_WAREHOUSE_URL")
    done = {}
    with one_run_per_source(engine, SOURCE, "test-holder"):
        worker = threading.Thread(target=lambda: done.update(load_source(
            SOURCE, warehouse_url=url.render_as_string(hide_password=False))))
        worker.start()
        time.sleep(1.0)
        assert worker.is_alive() and scalar(engine, "SELECT count(*) FROM audit.batch") == 0
    worker.join(60)
    assert done["counts"]["inserted"] == manifest["expected"]["inserted"]
    assert "postgres" not in str(done)  # the summary goes to XCom: no URL in it


def test_sources_of_one_department_system_share_its_pool_and_must_agree_on_its_size(demo_source):
    import dataclasses

    second = dataclasses.replace(demo_source, name="bacgiang_dossiers_api")
    assert pools([demo_source, second])["bacgiang_one_stop"]["slots"] == 2
    assert pools([dataclasses.replace(demo_source, pool=None)]) == {}
    with pytest.raises(ConfigError, match="bacgiang_one_stop.*says 3 slots"):
        pools([demo_source, dataclasses.replace(second, pool_slots=3)])


def test_the_local_airflow_secret_is_made_once_and_kept_private(tmp_path):
    first = local_secret(tmp_path)
    assert len(first) >= 64 and local_secret(tmp_path) == first
    path = tmp_path / ".hub" / "airflow" / "jwt_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["jwt_secret"]
