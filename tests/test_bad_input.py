"""Bad input: one clear error naming the source and the problem, a failed audit row, nothing loaded."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from conftest import demo_rows, scalar, write_csv
from pipeline.run import StageError, run_source


def failed_audit(engine) -> tuple[str, str]:
    with engine.connect() as conn:
        return conn.execute(text("SELECT status, error FROM audit.batch ORDER BY batch_id DESC LIMIT 1")).one()


def assert_nothing_loaded(engine):
    assert scalar(engine, "SELECT count(*) FROM core.dossier") == 0
    assert scalar(engine, "SELECT count(*) FROM quarantine.dossier") == 0


def test_missing_file(engine, make_source, tmp_path):
    with pytest.raises(StageError, match=r"source 'bacgiang_dossiers_export'.*file not found: .*nowhere\.csv"):
        run_source(make_source(tmp_path / "nowhere.csv"), engine)
    status, error = failed_audit(engine)
    assert status == "failed" and "file not found" in error
    assert_nothing_loaded(engine)


def test_wrong_encoding_quarantines_the_file_whole_before_anything_loads(engine, make_source, tmp_path):
    """Issue #4: a file its declared encoding can't decode is quarantined whole with the reason, not guessed."""
    header, rows = demo_rows()
    # 120 good rows first, so a reader that decoded as it went would have loaded a batch
    path = write_csv(tmp_path / "cp.csv", header, rows[:120], encoding="cp1258")
    result = run_source(make_source(path, chunk_size=50), engine)  # the run goes on: no exception
    (batch,) = result.batches
    assert batch.status == "held"
    assert batch.counts == {"inserted": 0, "updated": 0, "unchanged": 0, "quarantined": 1, "read": 1}
    assert re.fullmatch(r"cp\.csv is not valid utf-8 \(undecodable byte 0x[0-9A-F]{2} at offset \d+\); "
                        r"declare the file's encoding in options\.encoding", batch.held)
    with engine.connect() as conn:
        position, checks, reason, raw = conn.execute(text(
            "SELECT source_position, failed_checks, reason, raw_record FROM quarantine.dossier")).one()
    assert (position, checks, reason) == ("cp.csv", ["encoding"], batch.held)
    assert raw["file"] == "cp.csv" and raw["encoding"] == "utf-8" and len(raw["sha256"]) == 64
    assert scalar(engine, "SELECT count(*) FROM core.dossier") == 0
    assert scalar(engine, "SELECT status FROM audit.batch") == "held"
    # the same file again is not quarantined again; declaring its encoding then loads it
    again = run_source(make_source(path, chunk_size=50), engine)
    assert [b.status for b in again.batches] == ["unchanged"]
    fixed = run_source(make_source(path, chunk_size=50, encoding="cp1258"), engine)
    assert fixed.totals["inserted"] == 120


def test_declared_encoding_is_honoured(engine, make_source, tmp_path):
    header, rows = demo_rows()
    path = write_csv(tmp_path / "cp.csv", header, rows[:30], encoding="cp1258")
    result = run_source(make_source(path, encoding="cp1258"), engine)
    assert result.totals["inserted"] == 30
    # cp1258 decodes to combining marks; the warehouse holds NFC
    assert scalar(engine, "SELECT count(*) FROM core.dossier WHERE receiving_agency IS NFC NORMALIZED") == 30


def test_unknown_encoding_name(engine, make_source, tmp_path):
    with pytest.raises(StageError, match="unknown encoding 'utf-9'"):
        run_source(make_source(tmp_path / "x.csv", encoding="utf-9"), engine)


def test_missing_required_columns(engine, make_source, tmp_path):
    header, rows = demo_rows()
    path = write_csv(tmp_path / "cols.csv", header[:3] + header[4:], [r[:3] + r[4:] for r in rows[:10]])
    with pytest.raises(StageError, match=r"map: missing required columns: Mã ĐVHC \(admin_unit_code\)"):
        run_source(make_source(path), engine)
    assert failed_audit(engine)[0] == "failed"
    assert_nothing_loaded(engine)


@pytest.mark.parametrize("content, problem", [(b"", "is empty"),
                                              ("Mã hồ sơ,Mã TTHC\n".encode(), "has a header but no data rows")])
def test_empty_file(engine, make_source, tmp_path, content, problem):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(StageError, match=f"empty.csv {problem}"):
        run_source(make_source(path), engine)
    assert failed_audit(engine) == ("failed", f"source 'bacgiang_dossiers_export', extract: empty.csv {problem}")
    assert_nothing_loaded(engine)


def test_a_file_with_and_without_bom_loads_the_same(engine, make_source, tmp_path):
    header, rows = demo_rows()
    with_bom = run_source(make_source(write_csv(tmp_path / "a.csv", header, rows[:20], "utf-8-sig")), engine)
    without = run_source(make_source(write_csv(tmp_path / "b.csv", header, rows[:20], "utf-8")), engine,
                         full_refresh=True)
    assert with_bom.totals["inserted"] == 20 and without.totals["unchanged"] == 20


def test_a_broken_source_is_held_whole_with_one_reason(engine, make_source, tmp_path):
    header, rows = demo_rows()
    # the department switched its date format: every date fails to parse
    changed = [r[:4] + [r[4].replace("/", ".")] + r[5:] for r in rows[:200]]
    result = run_source(make_source(write_csv(tmp_path / "held.csv", header, changed)), engine)
    (batch,) = result.batches
    assert batch.status == "held"
    assert batch.counts == {"inserted": 0, "updated": 0, "unchanged": 0, "quarantined": 200, "read": 200}
    reasons = {r for (r,) in engine.connect().execute(text("SELECT DISTINCT reason FROM quarantine.dossier"))}
    assert len(reasons) == 1
    (reason,) = reasons
    assert reason.startswith("batch held whole: check parse_date:received_at failed for 100% of rows")
    assert scalar(engine, "SELECT count(*) FROM core.dossier") == 0
