"""Schema files as the single source: tables, suites, additive migrations, versions, PII storage."""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy import inspect, text

from conftest import demo_rows, scalar, write_csv
from pipeline.run import run_source
from quality import catalogs
from quality.suite import build_suite
from schemas import SCHEMA_DIR, all_schema_names, get_schema
from warehouse.migrate import MigrationError, upgrade
from warehouse.tables import stored_names

SCHEMAS = ["catalogue_entry", "document_trace", "dossier", "dossier_statistic", "enterprise", "indicator_report",
           "official_document", "online_meeting", "social_beneficiary", "teleconsultation"]


def test_the_shipped_schemas():
    assert all_schema_names() == SCHEMAS


@pytest.mark.parametrize("name", SCHEMAS)
def test_each_schema_file_produces_its_tables_and_suite(name, engine):
    schema = get_schema(name)
    columns = {c["name"] for c in inspect(engine).get_columns(name, schema="core")}
    assert set(stored_names(schema)) | {"source", "batch_id", "source_position", "row_hash", "loaded_at",
                                        "schema_version", "owner_source"} == columns
    pk = inspect(engine).get_pk_constraint(name, schema="core")["constrained_columns"]
    assert tuple(pk) == schema.stored_key
    assert {"raw_record", "failed_checks", "reason"} <= {c["name"] for c in
                                                        inspect(engine).get_columns(name, schema="quarantine")}
    catalogs.use(catalogs.load(engine))
    suite = build_suite(schema)
    checks = {e.meta["check"] for e in suite.expectations}
    assert {f"not_null:{f}" for f in schema.required_fields} <= checks
    assert {f"code_list:{f.name}" for f in schema.fields if f.code_list} <= checks
    assert {f"admin_unit_at_date:{f.name}" for f in schema.fields if f.admin_unit_at} <= checks
    assert {f"admin_unit_list_at_date:{f.name}" for f in schema.fields if f.admin_unit_list_at} <= checks


@pytest.fixture
def schema_copy(tmp_path, monkeypatch):
    folder = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    monkeypatch.setenv("HUB_SCHEMAS_DIR", str(folder))
    return folder


def _edit(path, old, new):
    text_ = path.read_text(encoding="utf-8")
    assert old in text_
    path.write_text(text_.replace(old, new), encoding="utf-8")


def test_adding_an_optional_field_needs_no_code_and_migrates_the_table(engine, schema_copy, demo_source,
                                                                      make_source, tmp_path):
    path = schema_copy / "dossier.yaml"
    _edit(path, 'version: "1.0"', 'version: "1.1"')
    path.write_text(path.read_text(encoding="utf-8") + "  - name: applicant_phone\n    type: string\n"
                    "    max_length: 20\n    description: Số điện thoại người nộp.\n", encoding="utf-8")
    assert upgrade(engine) == ["added core.dossier.applicant_phone", "added staging.dossier.applicant_phone"]
    assert upgrade(engine) == []
    header, rows = demo_rows()
    path_csv = write_csv(tmp_path / "p.csv", header + ["SĐT"], [r + ["0912345678"] for r in rows[:5]])
    source = make_source(path_csv)
    source = type(source)(**{**source.__dict__, "fields": {**source.fields, "SĐT": "applicant_phone"}})
    result = run_source(source, engine)
    assert result.totals["inserted"] == 5
    assert scalar(engine, "SELECT count(*) FROM core.dossier WHERE applicant_phone = '0912345678'") == 5
    assert scalar(engine, "SELECT DISTINCT schema_version FROM core.dossier") == "1.1"
    assert scalar(engine, "SELECT schema_version FROM audit.batch") == "1.1"


def test_a_change_without_the_right_version_is_refused(engine, schema_copy):
    path = schema_copy / "dossier.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "  - name: note\n    type: string\n", encoding="utf-8")
    with pytest.raises(MigrationError, match=r"schema dossier changed \(optional field note added\) but its "
                                             r"version is 1.0 \(was 1.0\): a minor change needs version 1.1"):
        upgrade(engine)
    _edit(path, "  - name: note\n    type: string\n", "  - name: note\n    type: string\n    required: true\n")
    _edit(path, 'version: "1.0"', 'version: "1.1"')
    with pytest.raises(MigrationError, match="required field note added.*a major change needs version 2.0"):
        upgrade(engine)
    assert "note" not in {c["name"] for c in inspect(engine).get_columns("dossier", schema="core")}


def test_the_warehouse_holds_no_raw_citizen_id(engine, make_source, tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_PII_KEY", "test-key-not-a-secret")
    header = ["Số CCCD", "Họ và tên", "Ngày sinh", "Giới tính", "Mã xã", "Loại trợ cấp", "Mức hưởng",
              "Ngày hưởng", "Tháng danh sách", "Cấp"]
    good, bad = "024301004567", "024101004567"  # the second says female born 1900s: wrong
    rows = [[good, "Nguyễn Thị Hoa", "02/07/2001", "Nữ", "07210", "orphan", "540000", "01/08/2025", "01/09/2025", "commune"],
            [good, "Nguyễn Thị Hoa", "02/07/2001", "Nữ", "07228", "orphan", "540000", "01/08/2025", "01/09/2025", "commune"],
            [bad, "Trần Thị B", "02/07/2001", "Nữ", "07210", "orphan", "540000", "01/08/2025", "01/09/2025", "commune"]]
    source = make_source(write_csv(tmp_path / "b.csv", header, rows))
    source = type(source)(**{**source.__dict__, "schema": "social_beneficiary",
                             "fields": dict(zip(header, ["citizen_id", "full_name", "birth_date", "sex",
                                                         "commune_code", "benefit_type", "monthly_amount",
                                                         "start_date", "list_month", "list_level"])),
                             "values": {"sex": {"Nam": "male", "Nữ": "female"}}})
    result = run_source(source, engine)
    assert result.totals == {"read": 3, "inserted": 2, "updated": 0, "unchanged": 0, "quarantined": 1}
    with engine.connect() as conn:
        everything = " ".join(str(r) for t in ("core.social_beneficiary", "quarantine.social_beneficiary",
                                              "audit.batch")
                              for r in conn.execute(text(f"SELECT * FROM {t}")))  # constant table names
        masked = conn.execute(text("SELECT DISTINCT citizen_id_masked FROM core.social_beneficiary")).scalars().all()
        hashes = conn.execute(text("SELECT DISTINCT citizen_id_hash FROM core.social_beneficiary")).scalars().all()
    assert good not in everything and bad not in everything
    assert masked == ["024*******67"]
    assert len(hashes) == 1 and len(hashes[0]) == 64  # the same person in two communes: one hash


def test_a_file_loaded_again_after_an_optional_field_was_added_changes_nothing(engine, schema_copy, make_source,
                                                                               tmp_path):
    header, rows = demo_rows()
    source = make_source(write_csv(tmp_path / "p.csv", header, rows[:40]))
    assert run_source(source, engine).totals["inserted"] == 40
    path = schema_copy / "dossier.yaml"
    _edit(path, 'version: "1.0"', 'version: "1.1"')
    path.write_text(path.read_text(encoding="utf-8") + "  - name: applicant_phone\n    type: string\n",
                    encoding="utf-8")
    assert "added core.dossier.applicant_phone" in upgrade(engine)
    again = run_source(source, engine, full_refresh=True)
    assert again.totals == {"read": 40, "inserted": 0, "updated": 0, "unchanged": 40, "quarantined": 0}
