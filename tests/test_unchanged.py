"""A rerun skips the records whose raw text did not change since they loaded (pipeline.unchanged),
and never one that changed: a field changed in the middle of the file, records moved to other
lines, and duplicates of skipped records all come out as a run that checks everything would say."""
from __future__ import annotations

from sqlalchemy import text

from conftest import demo_rows, scalar, write_csv
from pipeline.run import run_source

CHECKED_SQL = "SELECT sum((gx_statistics->>'rows')::int) FROM audit.batch WHERE run_id = :r"


def _history(engine, make_source, tmp_path, rows):
    header, _ = demo_rows()
    path = write_csv(tmp_path / "d.csv", header, rows)
    first = run_source(make_source(path, chunk_size=70), engine)
    assert first.totals["inserted"] == len(rows)
    return header, path


def test_a_changed_field_and_moved_records_are_checked_and_the_rest_skipped(engine, make_source, tmp_path):
    _, rows = demo_rows()
    rows = rows[:300]
    header, path = _history(engine, make_source, tmp_path, rows)
    changed = [list(r) for r in rows]
    changed[150][2] = changed[150][2] + " (cơ sở 2)"  # one field of one record in the middle
    changed[100], changed[250] = changed[250], changed[100]  # two records swap lines, across batches
    changed[200], changed[201] = changed[201], changed[200]  # and two within a batch
    write_csv(path, header, changed)
    second = run_source(make_source(path, chunk_size=70), engine)
    assert second.totals == {"read": 300, "inserted": 0, "updated": 1, "unchanged": 299, "quarantined": 0}
    assert scalar(engine, CHECKED_SQL, r=second.run_id) == 5  # the changed record and the four moved
    assert scalar(engine, "SELECT receiving_agency FROM core.dossier WHERE dossier_code = :c",
                  c=rows[150][0]) == rows[150][2] + " (cơ sở 2)"
    # the same file again, now through a full refresh that checks every record: nothing to change
    again = run_source(make_source(path, chunk_size=70), engine, full_refresh=True)
    assert again.totals == {"read": 300, "inserted": 0, "updated": 0, "unchanged": 300, "quarantined": 0}
    assert scalar(engine, CHECKED_SQL, r=again.run_id) == 300
    # and once more as an ordinary run: every record skipped
    write_csv(path, header, changed + [changed[0]])  # a changed file (one line more) is read again
    last = run_source(make_source(path, chunk_size=70), engine)
    assert last.totals == {"read": 301, "inserted": 0, "updated": 0, "unchanged": 300, "quarantined": 1}
    assert scalar(engine, CHECKED_SQL, r=last.run_id) == 1


def test_a_duplicate_of_a_skipped_record_is_still_a_duplicate(engine, make_source, tmp_path):
    _, rows = demo_rows()
    rows = rows[:300]
    header, path = _history(engine, make_source, tmp_path, rows)

    def rerun(records: list[list[str]]) -> tuple[str, str]:
        """Load the file as ``records``: one record quarantined, every other one unchanged."""
        write_csv(path, header, records)
        run = run_source(make_source(path, chunk_size=70), engine)
        assert run.totals == {"read": 300, "inserted": 0, "updated": 0, "unchanged": 299, "quarantined": 1}
        with engine.connect() as conn:
            (position, reason), = conn.execute(text(
                "SELECT source_position, reason FROM quarantine.dossier WHERE batch_id IN "
                "(SELECT batch_id FROM audit.batch WHERE run_id = :r)"), {"r": run.run_id}).all()
        return position, reason

    later = [list(r) for r in rows]
    later[250] = list(rows[30])  # a copy of an unchanged (skipped) record, batches later
    position, reason = rerun(later)
    assert position == "d.csv:252" and reason.startswith(f"duplicate: dossier_code {rows[30][0]!r} appears earlier")

    earlier = [list(r) for r in rows]
    earlier[10] = list(rows[250])  # a copy placed before its original, which is unchanged
    position, reason = rerun(earlier)
    assert position == "d.csv:252" and reason.startswith(f"duplicate: dossier_code {rows[250][0]!r} appears earlier")


def test_a_change_to_the_checks_checks_every_record_again(engine, make_source, tmp_path):
    _, rows = demo_rows()
    rows = rows[:100]
    header, path = _history(engine, make_source, tmp_path, rows)
    write_csv(path, header, rows + [rows[0]])
    source = make_source(path, chunk_size=70)
    stricter = type(source)(**{**source.__dict__, "timezone": "UTC"})  # the mapping changed
    run = run_source(stricter, engine)
    assert scalar(engine, CHECKED_SQL, r=run.run_id) == 101
