"""Each kind of defect planted in the demo export reaches quarantine with its own reason."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from pipeline.run import run_source

KINDS = {  # defect kind -> (check that must have failed, words the reason must hold)
    "missing_code": ("not_null:dossier_code", "dossier_code is missing"),
    "impossible_date": ("parse_date:received_at", "is not a valid date"),
    "completed_before_received": ("not_before:completed_at", "is before received_at"),
    "future_date": ("not_in_future:received_at", "is in the future"),
    "unknown_status": ("code_list:status", "is not in code list dossier_status"),
    "duplicate": ("unique_key:dossier_code", "appears earlier in the same batch"),
    "wrong_field_count": ("field_count", "fields where the header has 9"),
}


@pytest.fixture
def quarantined(engine, demo_source):
    run_source(demo_source, engine)
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM quarantine.dossier")).mappings().all()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_defect_kind_is_quarantined_with_its_reason(kind, quarantined, manifest):
    check, words = KINDS[kind]
    rows = [q for q in quarantined if check in q["failed_checks"]]
    assert len(rows) == manifest["defect_counts"][kind]
    assert all(words in q["reason"] for q in rows), rows[0]["reason"]
    assert all(q["source_position"].startswith("dossiers.csv:") for q in rows)
    if kind not in ("missing_code", "wrong_field_count"):  # the planted codes are the ones held
        codes = {q["raw_record"]["Mã hồ sơ"] for q in rows}
        assert codes == set(manifest["defects"][kind])


def test_quarantine_keeps_the_raw_record_as_the_department_sent_it(quarantined):
    status = next(q for q in quarantined if "code_list:status" in q["failed_checks"])
    assert set(status["raw_record"]) >= {"Mã hồ sơ", "Trạng thái", "Ngày tiếp nhận"}
    assert status["raw_record"]["Trạng thái"] in status["reason"]
    wrong = next(q for q in quarantined if q["failed_checks"] == ["field_count"])
    assert len(wrong["raw_record"]["fields"]) == 10


def test_a_duplicate_in_a_later_batch_is_quarantined_as_one_in_the_same_batch(engine, make_source, demo_source,
                                                                              manifest):
    """Every planted duplicate lies more than 100 lines after its original: with batches of 100,
    each is found across a batch boundary, and the counts are those of one large batch."""
    source = make_source(demo_source.options["path"], chunk_size=100)
    expected = manifest["expected"]
    result = run_source(source, engine)
    assert result.totals == {"read": expected["read"], "inserted": expected["inserted"], "updated": 0,
                             "unchanged": 0, "quarantined": expected["quarantined"]}
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT raw_record, reason FROM quarantine.dossier "
                                 "WHERE 'unique_key:dossier_code' = ANY(failed_checks)")).mappings().all()
    assert sorted(r["raw_record"]["Mã hồ sơ"] for r in rows) == sorted(manifest["defects"]["duplicate"])
    for r in rows:
        assert r["reason"].startswith(f"duplicate: dossier_code {r['raw_record']['Mã hồ sơ']!r} appears earlier "
                                      "in the source, at dossiers.csv:")
    again = run_source(source, engine, full_refresh=True)  # a second read of the file repeats nothing
    assert again.totals == {"read": expected["read"], "inserted": 0, "updated": 0,
                            "unchanged": expected["inserted"], "quarantined": expected["quarantined"]}
