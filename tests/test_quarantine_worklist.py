"""The quarantine as a work list (issue 13): list, show (masked), and replay after a fix of the
reference data; a replayed record loads exactly once and nothing leaves quarantine."""
from __future__ import annotations

import json

from sqlalchemy import text
from typer.testing import CliRunner

from hub.cli import app
from pipeline.run import run_source

from conftest import scalar

STATUS = "code_list:status"


def quarantined(engine, check: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(
            "SELECT * FROM quarantine.dossier WHERE :c = ANY(failed_checks) ORDER BY id"), {"c": check}).mappings()]


def test_list_and_show_name_each_record_its_reasons_position_and_batch(engine, demo_source, manifest):
    run_source(demo_source, engine)
    runner = CliRunner()
    listed = runner.invoke(app, ["quarantine", "list", "--source", demo_source.name, "--check", STATUS])
    assert listed.exit_code == 0, listed.output
    rows = quarantined(engine, STATUS)
    assert len(rows) == manifest["defect_counts"]["unknown_status"]
    for r in rows:
        assert f"dossier-{r['id']}" in listed.output
    by_kind = runner.invoke(app, ["quarantine", "list", "--check", "code_list"])
    assert all(f"dossier-{r['id']}" in by_kind.output for r in rows)
    unit = rows[0]["raw_record"]["Mã ĐVHC"]
    by_unit = runner.invoke(app, ["quarantine", "list", "--unit", unit])
    assert f"dossier-{rows[0]['id']}" in by_unit.output
    shown = runner.invoke(app, ["quarantine", "show", f"dossier-{rows[0]['id']}"])
    assert shown.exit_code == 0, shown.output
    record = json.loads(shown.stdout)
    assert record["position"] == rows[0]["source_position"] and record["checks"] == rows[0]["failed_checks"]
    assert record["reasons"] == rows[0]["reason"].split("; ") and record["times_seen"] == 1
    assert record["first_batch"]["batch_id"] == rows[0]["batch_id"] and record["record"]["Mã hồ sơ"]
    missing = runner.invoke(app, ["quarantine", "show", "dossier-999999"])
    assert missing.exit_code == 1 and "no quarantine record dossier-999999" in missing.output
    assert "Traceback" not in missing.output
    wrong = runner.invoke(app, ["quarantine", "show", "12"])
    assert wrong.exit_code == 1 and "is not <schema>-<number>" in wrong.output


def test_show_masks_personal_fields(engine, make_source, tmp_path):
    from quarantine.worklist import masked_record
    from schemas import get_schema

    schema = get_schema("social_beneficiary")
    raw = {"Họ và tên": "Nguyễn Thị Hoa", "Ngày sinh": "01/02/1990", "Số CCCD": "024*******45",
           "Số CCCD (hash)": "ab" * 32, "Mã xã": "07210"}
    from pipeline.config import SourceConfig

    source = SourceConfig("s", "file", "social_beneficiary",
                          fields={"Họ và tên": "full_name", "Ngày sinh": "birth_date", "Số CCCD": "citizen_id",
                                  "Mã xã": "commune_code"})
    shown = masked_record(raw, schema, source)
    assert "Nguyễn Thị Hoa" not in json.dumps(shown, ensure_ascii=False) and shown["Mã xã"] == "07210"
    assert shown["Ngày sinh"] != "01/02/1990" and shown["Số CCCD"] == "024*******45"


def test_replay_after_the_code_list_is_fixed_loads_each_record_once_and_deletes_nothing(engine, demo_source,
                                                                                         manifest):
    run_source(demo_source, engine)
    rows = quarantined(engine, STATUS)
    values = sorted({r["raw_record"]["Trạng thái"] for r in rows})
    before = scalar(engine, "SELECT count(*) FROM quarantine.dossier")
    core_before = scalar(engine, "SELECT count(*) FROM core.dossier")
    runner = CliRunner()
    # before the fix: revalidated, still failing, nothing loads, no batch
    early = runner.invoke(app, ["quarantine", "replay", "--source", demo_source.name, "--check", STATUS])
    assert early.exit_code == 0, early.output
    assert f"revalidated {len(rows)}, loaded 0, still failing {len(rows)}" in early.output
    assert scalar(engine, "SELECT count(*) FROM audit.batch WHERE adapter = 'replay'") == 0
    # the fix: the department's status is a real one the code list lacked
    with engine.begin() as conn:
        for v in values:
            conn.execute(text("INSERT INTO ref.code_list (list_name, code, label) VALUES ('dossier_status', :v, :label)"),
                         {"v": v, "label": v})
    done = runner.invoke(app, ["quarantine", "replay", "--source", demo_source.name, "--check", STATUS])
    assert done.exit_code == 0, done.output
    [batch] = [dict(r) for r in engine.connect().execute(text(
        "SELECT * FROM audit.batch WHERE adapter = 'replay'")).mappings()]
    assert f"loaded {len(rows)} as batch {batch['batch_id']}" in done.output
    assert (batch["status"], batch["rows_read"], batch["rows_inserted"], batch["rows_quarantined"]) == \
        ("succeeded", len(rows), len(rows), 0)
    codes = [r["raw_record"]["Mã hồ sơ"] for r in rows]
    with engine.connect() as conn:
        loaded = conn.execute(text("SELECT dossier_code, batch_id, source_position FROM core.dossier "
                                   "WHERE dossier_code = ANY(:c)"), {"c": codes}).all()
    assert sorted(c for c, _, _ in loaded) == sorted(codes)
    assert {b for _, b, _ in loaded} == {batch["batch_id"]}
    assert sorted(p for _, _, p in loaded) == sorted(r["source_position"] for r in rows)  # lineage kept
    assert scalar(engine, "SELECT count(*) FROM quarantine.dossier") == before  # nothing deleted
    assert {r["loaded_batch_id"] for r in quarantined(engine, STATUS)} == {batch["batch_id"]}
    assert scalar(engine, "SELECT count(*) FROM core.dossier") == core_before + len(rows)
    # again: nothing to replay, nothing loaded twice
    again = runner.invoke(app, ["quarantine", "replay", "--source", demo_source.name, "--check", STATUS])
    assert again.exit_code == 0 and "nothing to replay" in again.output
    assert scalar(engine, "SELECT count(*) FROM core.dossier") == core_before + len(rows)
    assert scalar(engine, "SELECT count(*) FROM audit.batch WHERE adapter = 'replay'") == 1
    # the watermark is the source's, not the replay's: the next run reads nothing new
    assert run_source(demo_source, engine).totals["inserted"] == 0


def test_replay_keeps_what_still_fails_with_its_reasons_and_skips_duplicates(engine, demo_source, manifest):
    run_source(demo_source, engine)
    before = {r["id"]: r["reason"] for r in quarantined(engine, "not_before:completed_at")}
    out = CliRunner().invoke(app, ["quarantine", "replay", "--source", demo_source.name])
    assert out.exit_code == 0, out.output
    assert "not replayed" in out.output and "a duplicate key" in out.output
    assert "the record could not be split into fields" in out.output
    after = {r["id"]: r["reason"] for r in quarantined(engine, "not_before:completed_at")}
    assert after == before  # still failing, for the same reason
    assert all(r["loaded_batch_id"] is None for r in quarantined(engine, "unique_key:dossier_code"))
    assert scalar(engine, "SELECT count(*) FROM audit.batch WHERE adapter = 'replay'") == 0


def test_an_unknown_source_is_one_line(engine):
    out = CliRunner().invoke(app, ["quarantine", "list", "--source", "no_such_source"])
    assert out.exit_code == 2 and "no source named 'no_such_source'" in out.output
