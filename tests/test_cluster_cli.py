"""``hub cluster`` and ``hub demo --serve`` refuse what they can't do in one line, before starting anything."""
from __future__ import annotations

from typer.testing import CliRunner

from hub.cli import app


def test_status_and_down_without_a_cluster(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_HOME", str(tmp_path))
    status = CliRunner().invoke(app, ["cluster", "status"])
    assert status.exit_code == 1
    assert status.output.strip() == f"error: no cluster in {tmp_path / 'cluster'} (hub cluster up)"
    down = CliRunner().invoke(app, ["cluster", "down"])
    assert down.exit_code == 0 and "nothing was running" in down.output


def test_up_refuses_no_workers_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["cluster", "up", "--workers", "0"])
    assert result.exit_code == 1 and result.output.strip() == "error: --workers must be at least 1, not 0"
    assert not (tmp_path / "cluster").exists()


def test_demo_serve_needs_the_connection_its_workers_get(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_HOME", str(tmp_path))
    monkeypatch.delenv("AIRFLOW_CONN_DEMO_ONESTOP", raising=False)
    result = CliRunner().invoke(app, ["demo", "--serve"])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert "set AIRFLOW_CONN_DEMO_ONESTOP=http://CLIENT_ID:SECRET@127.0.0.1:PORT" in result.output
    monkeypatch.setenv("AIRFLOW_CONN_DEMO_ONESTOP", "http://id:secret@0.0.0.0:8000")
    result = CliRunner().invoke(app, ["demo", "--serve"])
    assert result.exit_code == 1 and "127.0.0.1 only" in result.output
