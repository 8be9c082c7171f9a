"""The auditors' report and a row's lineage, on the demo export loaded for real."""
from __future__ import annotations

import hashlib
import json

from typer.testing import CliRunner

from hub.cli import app
from pipeline.run import run_source
from report import build_report, lineage
from sync.findings import Finding, record

from conftest import DEMO, scalar


def test_report_shows_each_source_its_quarantine_by_check_and_the_findings(engine, demo_source, manifest, tmp_path):
    run_source(demo_source, engine)
    run_source(demo_source, engine)  # a rerun: an 'unchanged' batch
    finding = Finding("indicator_sum", unit="24", period="2025-06", subject="POP", level="province",
                      expected=100, found=97, difference=-3, detail="children sum to 97")
    with engine.begin() as conn:
        record(conn, "run-1", [finding], checks={"indicator_sum"}, geography="recorded")

    page = build_report(engine, tmp_path)
    data = json.loads((tmp_path / "quality_report.json").read_text(encoding="utf-8"))
    html = "".join(p.read_text(encoding="utf-8") for p in sorted(tmp_path.glob("*.html")))  # the site's pages

    [source] = [s for s in data["sources"] if s["runs"]]
    assert source["source"] == demo_source.name and source["batches"] == 2 and source["batches_unchanged"] == 1
    assert source["read"] == manifest["expected"]["read"]
    assert source["quarantined"] == manifest["expected"]["quarantined"]
    assert data["unbalanced_batches"] == 0 and "do NOT add up" not in html
    by_check = {q["check"]: q["rows"] for q in data["quarantine"]}
    expected = dict(scalar_rows(engine, "SELECT c, count(*) FROM quarantine.dossier, unnest(failed_checks) c GROUP BY c"))
    assert by_check == expected and sum(by_check.values()) >= manifest["expected"]["quarantined"]
    for check, rows in by_check.items():
        assert f"<td>{check}</td><td>{rows}</td>" in html
    [open_finding] = data["reconciliation"]["open"]
    assert (open_finding["unit"], open_finding["period"], open_finding["difference"]) == ("24", "2025-06", -3)
    assert "children sum to 97" in html


def test_report_never_shows_a_raw_record(engine, demo_source, tmp_path):
    run_source(demo_source, engine)
    raws = [json.loads(r) for (r,) in scalar_rows(engine, "SELECT raw_record::text FROM quarantine.dossier")]
    agencies = {r.get("Cơ quan tiếp nhận") or r["fields"][2] for r in raws}  # a short line keeps its fields as read
    build_report(engine, tmp_path)
    page = "".join(p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.html"))  # every page of the site
    assert len(agencies) > 10 and not [a for a in agencies if a in page]


def test_a_row_leads_back_to_its_file_line_and_batch(engine, demo_source):
    run_source(demo_source, engine)
    code = scalar(engine, "SELECT dossier_code FROM core.dossier WHERE source_position = 'dossiers.csv:2'")
    found = lineage(engine, "dossier", [code])
    assert found["lineage"]["source_position"] == "dossiers.csv:2"
    assert found["batch"]["file_sha256"] == hashlib.sha256((DEMO / "dossiers.csv").read_bytes()).hexdigest()
    assert found["row"]["dossier_code"] == code
    assert lineage(engine, "dossier", ["NO-SUCH-DOSSIER"]) is None


def test_report_and_lineage_commands(engine, demo_source, tmp_path):
    run_source(demo_source, engine)
    runner = CliRunner()
    made = runner.invoke(app, ["report", "--out", str(tmp_path)])
    assert made.exit_code == 0 and (tmp_path / "quality_report.html").is_file()
    code = scalar(engine, "SELECT dossier_code FROM core.dossier WHERE source_position = 'dossiers.csv:3'")
    shown = runner.invoke(app, ["lineage", "dossier", code])
    assert shown.exit_code == 0 and "dossiers.csv:3" in shown.output
    missing = runner.invoke(app, ["lineage", "dossier", "NO-SUCH-DOSSIER"])
    assert missing.exit_code == 1 and "no dossier row with key NO-SUCH-DOSSIER" in missing.output
    wrong = runner.invoke(app, ["lineage", "dossier", "a", "b"])
    assert wrong.exit_code == 1 and "dossier's key is (dossier_code)" in wrong.output


def scalar_rows(engine, sql):
    from sqlalchemy import text
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]
