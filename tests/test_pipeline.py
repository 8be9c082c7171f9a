"""The demo export end to end: counts, idempotent reruns, updates, atomic batches, resume."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from conftest import demo_rows, scalar, write_csv
from pipeline.run import StageError, run_source
from warehouse import load

COUNT_SQL = "SELECT count(*) FROM core.dossier"
CHECKSUM_SQL = ("SELECT md5(string_agg(row_hash || source_position || batch_id::text, ',' "
                "ORDER BY dossier_code)) FROM core.dossier")


def test_demo_export_loads_the_manifest_counts(engine, demo_source, manifest):
    result = run_source(demo_source, engine)
    expected = manifest["expected"]
    assert result.totals == {"read": expected["read"], "inserted": expected["inserted"], "updated": 0,
                             "unchanged": 0, "quarantined": expected["quarantined"]}
    assert scalar(engine, COUNT_SQL) == expected["inserted"]
    assert scalar(engine, "SELECT count(*) FROM quarantine.dossier") == expected["quarantined"]
    row = dict(scalar_row(engine, "SELECT * FROM core.dossier WHERE source_position = 'dossiers.csv:2'"))
    assert row["source"] == demo_source.name and row["schema_version"] == "1.0"
    assert row["batch_id"] == result.batches[0].batch_id and len(row["row_hash"]) == 32


def scalar_row(engine, sql):
    with engine.connect() as conn:
        return conn.execute(text(sql)).one()._mapping


def test_rerun_of_the_same_file_adds_and_changes_nothing(engine, demo_source, manifest):
    run_source(demo_source, engine)
    before = scalar(engine, CHECKSUM_SQL)
    again = run_source(demo_source, engine)  # watermark says the file is done
    assert [b.status for b in again.batches] == ["unchanged"]
    assert again.totals["inserted"] == again.totals["updated"] == 0
    reread = run_source(demo_source, engine, full_refresh=True)  # read it all again anyway
    assert reread.totals["inserted"] == 0 and reread.totals["updated"] == 0
    assert reread.totals["unchanged"] == manifest["expected"]["inserted"]
    assert scalar(engine, CHECKSUM_SQL) == before
    # the same quarantined rows are counted again, not copied again
    assert scalar(engine, "SELECT count(*) FROM quarantine.dossier") == manifest["expected"]["quarantined"]
    assert scalar(engine, "SELECT min(times_seen) FROM quarantine.dossier") == 2


def test_a_changed_row_is_updated_in_place(engine, make_source, tmp_path):
    header, rows = demo_rows()
    rows = rows[:50]
    path = write_csv(tmp_path / "d.csv", header, rows)
    first = run_source(make_source(path), engine)
    assert first.totals["inserted"] == 50
    rows[7][7] = "Đã trả kết quả"
    rows[7][6] = rows[7][5]  # completed on the due date
    write_csv(path, header, rows)
    second = run_source(make_source(path), engine)
    assert second.totals == {"read": 50, "inserted": 0, "updated": 1, "unchanged": 49, "quarantined": 0}
    with engine.connect() as conn:
        status, batch_id = conn.execute(text("SELECT status, batch_id FROM core.dossier WHERE dossier_code = :c"),
                                        {"c": rows[7][0]}).one()
    assert status == "completed" and batch_id == second.batches[0].batch_id
    assert scalar(engine, COUNT_SQL) == 50


def test_audit_rows_add_up_for_every_batch(engine, demo_source, make_source, tmp_path):
    header, rows = demo_rows()
    run_source(demo_source, engine)
    run_source(demo_source, engine, full_refresh=True)
    run_source(make_source(write_csv(tmp_path / "s.csv", header, rows[:300]), chunk_size=70), engine)
    bad = [r[:4] + ["2024-13-45"] + r[5:] for r in rows[:40]]  # a broken source: held whole
    held = run_source(make_source(write_csv(tmp_path / "h.csv", header, bad)), engine)
    assert held.batches[0].status == "held"
    with engine.connect() as conn:
        batches = conn.execute(text("SELECT * FROM audit.batch WHERE status <> 'failed'")).mappings().all()
    assert len(batches) >= 8
    for b in batches:
        assert b["rows_read"] == (b["rows_inserted"] + b["rows_updated"] + b["rows_unchanged"]
                                  + b["rows_quarantined"]), dict(b)
    # and the database refuses a batch row that does not add up
    with pytest.raises(Exception, match="batch_rows_add_up"):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO audit.batch (run_id, source, adapter, schema_name, schema_version, "
                              "status, rows_read, rows_inserted) VALUES ('x', 's', 'file', 'dossier', '1.0', "
                              "'succeeded', 10, 9)"))


def test_a_failing_batch_leaves_nothing_behind(engine, demo_source, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(load, "quarantine", broken)  # fails after the merge has run in the transaction
    with pytest.raises(StageError, match="quarantine: RuntimeError: disk full"):
        run_source(demo_source, engine)
    assert scalar(engine, COUNT_SQL) == 0
    assert scalar(engine, "SELECT count(*) FROM quarantine.dossier") == 0
    assert scalar(engine, "SELECT count(*) FROM audit.watermark") == 0
    with engine.connect() as conn:
        status, error, read = conn.execute(text("SELECT status, error, rows_read FROM audit.batch")).one()
    assert status == "failed" and "disk full" in error and read > 0


def test_an_interrupted_run_resumes_after_the_last_committed_batch(engine, make_source, tmp_path, interrupt_merge):
    header, rows = demo_rows()
    path = write_csv(tmp_path / "r.csv", header, rows[:1000])
    source = make_source(path, chunk_size=200)
    heal = interrupt_merge(3)
    with pytest.raises(StageError):
        run_source(source, engine)
    assert scalar(engine, COUNT_SQL) == 400
    heal()
    resumed = run_source(source, engine)
    assert resumed.totals == {"read": 600, "inserted": 600, "updated": 0, "unchanged": 0, "quarantined": 0}
    assert len(resumed.batches) == 3
    assert scalar(engine, COUNT_SQL) == 1000
    assert scalar(engine, "SELECT count(*) FROM audit.batch WHERE status = 'failed'") == 1
