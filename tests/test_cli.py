"""The command line: help with examples, exit codes, one-line errors, the real console script."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from hub.cli import app
from pipeline.config import REPO_ROOT

runner = CliRunner()


def _commands(group=typer.main.get_command(app), prefix=()):
    """Every leaf command of the CLI, so a new command is held to the same rules with no list to update."""
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))
        else:
            yield [*prefix, name]


COMMANDS = list(_commands())


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example: hub " + " ".join(command) in " ".join(result.output.split())


def test_run_needs_a_source_or_all(engine):
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 2
    assert "name one SOURCE or pass --all" in result.output


def test_unknown_source_is_one_line_and_non_zero(engine):
    result = runner.invoke(app, ["run", "no_such_source"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: no source named 'no_such_source' in sources.yaml (known: bacgiang_dossiers_export)"]


def test_a_bad_source_fails_with_one_line(engine, tmp_path, monkeypatch):
    registry = tmp_path / "sources.yaml"
    registry.write_text((REPO_ROOT / "sources.yaml").read_text(encoding="utf-8").replace(
        "path: demo/data/dossiers.csv", f"path: {tmp_path / 'gone.csv'}"), encoding="utf-8")
    monkeypatch.setenv("HUB_SOURCES", str(registry))
    result = runner.invoke(app, ["run", "bacgiang_dossiers_export"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "file not found" in lines[0] and lines[0].startswith("error: source ")


def test_run_then_status_show_the_demo_counts(engine, manifest):
    result = runner.invoke(app, ["run", "--all"])
    assert result.exit_code == 0, result.output
    e = manifest["expected"]
    assert (f"read {e['read']}, inserted {e['inserted']}, updated 0, unchanged 0, "
            f"quarantined {e['quarantined']}") in result.output
    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0
    assert "bacgiang_dossiers_export" in status.output and str(e["inserted"]) in status.output


def test_console_script_on_a_fresh_embedded_warehouse(outside_tmp, manifest):
    """The README's main job as a user runs it: no URL set, the embedded warehouse created on first use."""
    tmp_path = outside_tmp("home")
    env = {k: v for k, v in os.environ.items() if k != "HUB_WAREHOUSE_URL"}
    env["HUB_HOME"] = str(tmp_path / "home")
    hub = Path(sys.executable).parent / "hub"
    first = subprocess.run([hub, "run", "--all"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    e = manifest["expected"]
    assert f"inserted {e['inserted']}" in first.stdout
    second = subprocess.run([hub, "run", "--all"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert "inserted 0, updated 0" in second.stdout
    assert (tmp_path / "home" / "warehouse" / "PG_VERSION").exists()


def test_validate_is_a_dry_run_that_names_failures(engine, manifest):
    from conftest import DEMO, scalar

    result = runner.invoke(app, ["validate", str(DEMO / "dossiers.csv"), "--schema", "dossier",
                                 "--source", "bacgiang_dossiers_export", "--show", "100"])
    assert result.exit_code == 1  # something would be quarantined
    e = manifest["expected"]
    assert f"{e['read']} rows read, {e['inserted']} would load, {e['quarantined']} would be quarantined" \
        in result.output
    assert "code_list:status" in result.output and "is not in code list dossier_status" in result.output
    assert scalar(engine, "SELECT count(*) FROM core.dossier") == 0
    assert scalar(engine, "SELECT count(*) FROM audit.batch") == 0


def test_schemas_list_and_show(engine):
    listed = runner.invoke(app, ["schemas", "list"])
    assert listed.exit_code == 0
    for name in ("dossier", "official_document", "document_trace", "enterprise", "indicator_report",
                 "social_beneficiary"):
        assert name in listed.output
    shown = runner.invoke(app, ["schemas", "show", "social_beneficiary"])
    assert shown.exit_code == 0
    line = next(l for l in shown.output.splitlines() if l.startswith("│ citizen_id"))
    assert "PII, stored as keyed hash + mask" in line and "cccd" in line
    assert runner.invoke(app, ["schemas", "show", "nope"]).exit_code == 2


def test_refdata_sync_command(engine):
    result = runner.invoke(app, ["refdata", "sync", "--province", "24"])
    assert result.exit_code == 0, result.output
    assert "0 new, 0 closed, 0 corrected, 434 unchanged; crosswalk 315 links" in result.output


def test_reconcile_prints_the_findings(engine):
    from conftest import scalar

    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO core.document_trace (document_id, recipient_organ_id, status_code, source, batch_id, "
            "source_position, row_hash, schema_version) VALUES ('X,2025/01/01,1/UBND', '000.24.01.H01', '05', "
            "'t', 0, 't:1', '0', '1.0')")
    result = runner.invoke(app, ["reconcile", "--check", "documents"])
    assert result.exit_code == 0, result.output
    assert "document_unknown" in result.output and "X,2025/01/01,1/UBND" in result.output
    assert scalar(engine, "SELECT count(*) FROM audit.reconciliation WHERE status = 'open'") == 1
    bad = runner.invoke(app, ["reconcile", "--check", "nonsense"])
    assert bad.exit_code == 1 and "unknown check 'nonsense'" in bad.output


def test_catalogue_feed_is_json(engine):
    import json

    assert runner.invoke(app, ["catalogues", "publish"]).exit_code == 0
    result = runner.invoke(app, ["catalogues", "feed", "document_type"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["version"] == 1 and body["entries"]["CV"]["label"] == "Công văn"
    missing = runner.invoke(app, ["catalogues", "feed", "nope"])
    assert missing.exit_code == 1 and "no catalogue named 'nope' has been published" in missing.output
