"""Issue 12: the access log's hash chain, working-day deadlines, the departments registry, and
requests refused or overdue (each on a fresh migrated database; no demo needed)."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from access import log
from access.departments import DepartmentsError, load_departments
from access.requests import AccessError, approve, refuse, request, requests
from access.workdays import HolidaysError, due_on, load_holidays
from hub.cli import app

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def _log_rows(engine, n: int) -> None:
    for i in range(n):
        with engine.begin() as conn:
            log.record(conn, actor=f"dept_{i}", action="api", dataset="dossier", filters={"unit": "07210"},
                       rows=i, status="200")


def _tamper(engine, sql: str) -> None:
    with engine.begin() as conn:  # what someone with the owner's rights could do behind the trigger
        conn.execute(text("ALTER TABLE audit.access_log DISABLE TRIGGER access_log_chain"))
        for statement in sql.split(";"):
            conn.execute(text(statement))
        conn.execute(text("ALTER TABLE audit.access_log ENABLE TRIGGER access_log_chain"))


def test_the_log_is_a_chain_and_verify_log_finds_a_changed_row(engine):
    _log_rows(engine, 5)
    n, breaks = log.verify(engine)
    assert (n, breaks) == (5, [])
    assert CliRunner().invoke(app, ["access", "verify-log"]).exit_code == 0
    _tamper(engine, "UPDATE audit.access_log SET rows_returned = 0 WHERE log_id = (SELECT min(log_id) + 2 "
                    "FROM audit.access_log)")
    first = int(engine.connect().execute(text("SELECT min(log_id) FROM audit.access_log")).scalar())
    n, breaks = log.verify(engine)
    assert [(b.log_id, "changed" in b.problem) for b in breaks] == [(first + 2, True)]
    out = CliRunner().invoke(app, ["access", "verify-log"])
    assert out.exit_code == 1 and f"row {first + 2}: its content was changed" in out.output


def test_verify_log_finds_a_removed_row_and_rows_out_of_order(engine):
    _log_rows(engine, 6)
    first = int(engine.connect().execute(text("SELECT min(log_id) FROM audit.access_log")).scalar())
    _tamper(engine, f"DELETE FROM audit.access_log WHERE log_id = {first + 2}")
    breaks = log.verify(engine)[1]
    assert [b.log_id for b in breaks] == [first + 3] and "removed" in breaks[0].problem
    # put two rows in each other's place (ids swapped): their content no longer matches their hash
    _tamper(engine, f"UPDATE audit.access_log SET log_id = -1 WHERE log_id = {first + 4};"
                    f"UPDATE audit.access_log SET log_id = {first + 4} WHERE log_id = {first + 5};"
                    f"UPDATE audit.access_log SET log_id = {first + 5} WHERE log_id = -1")
    found = {b.log_id: b.problem for b in log.verify(engine)[1]}
    assert {first + 3, first + 4, first + 5} <= set(found)
    assert "out of order" in found[first + 4] or "out of order" in found[first + 5]


def test_the_log_is_append_only(engine):
    _log_rows(engine, 2)
    for sql in ("UPDATE audit.access_log SET rows_returned = 1", "DELETE FROM audit.access_log",
                "TRUNCATE audit.access_log"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    assert log.verify(engine) == (2, [])


def test_a_request_made_on_a_friday_before_a_public_holiday_is_due_on_the_right_day():
    holidays = load_holidays()
    # Friday 29 Aug 2025; Monday 1 and Tuesday 2 September are Quốc khánh: Wednesday 3 is the first
    # working day, Thursday 4 the second.
    assert due_on(date(2025, 8, 29), holidays) == date(2025, 9, 4)
    # Friday 24 April 2026; Monday 27 is Giỗ Tổ Hùng Vương: due Wednesday 29.
    assert due_on(date(2026, 4, 24), holidays) == date(2026, 4, 29)
    assert due_on(date(2026, 4, 22), holidays) == date(2026, 4, 24)  # an ordinary Wednesday: Friday
    assert due_on(date(2026, 4, 24), frozenset()) == date(2026, 4, 28)  # no holiday: Tuesday


def test_the_holidays_file_is_data(tmp_path, monkeypatch):
    path = tmp_path / "holidays.yaml"
    path.write_text("holidays: [2027-03-01]\n")
    monkeypatch.setenv("HUB_HOLIDAYS", str(path))
    assert due_on(date(2027, 2, 26)) == date(2027, 3, 3)  # Friday; Monday off
    path.write_text("holidays: [not a date]\n")
    with pytest.raises(HolidaysError, match="must be a list of dates"):
        load_holidays()


def _registry(tmp_path, body: str):
    path = tmp_path / "departments.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def test_requests_deadline_overdue_and_refusal_with_a_reason(engine, tmp_path):
    from access.policies import sync

    sync(engine, load_departments(_registry(tmp_path, """
departments:
  - {code: ubnd_tinh, name: UBND tỉnh, level: province, units: [{code: "24", era: "2025"}]}
""")))
    request_id, due = request(engine, "ubnd_tinh", "dossier", "monitoring",
                              at=datetime(2025, 8, 29, 9, 0, tzinfo=VN))
    assert due == date(2025, 9, 4)
    late = {r["request_id"]: r for r in requests(engine, today=date(2025, 9, 5))}
    assert late[request_id]["overdue"] and not requests(engine, today=date(2025, 9, 4))[0]["overdue"]
    with pytest.raises(AccessError, match="reason"):
        refuse(engine, request_id, "  ")
    refuse(engine, request_id, "personal data beyond the stated purpose")
    with pytest.raises(AccessError, match="is refused, not pending"):
        approve(engine, request_id)
    assert requests(engine) == []
    with pytest.raises(AccessError, match="no department 'nobody'"):
        request(engine, "nobody", "dossier", "x")
    out = CliRunner().invoke(app, ["access", "approve", "999"])
    assert out.exit_code == 1 and out.output.strip() == "error: no request 999"
    with engine.connect() as conn:
        actions = conn.execute(text("SELECT action FROM audit.access_log ORDER BY log_id")).scalars().all()
    assert actions == ["request", "refuse"]


@pytest.mark.parametrize("body, message", [
    ("departments: [{code: Bad-Code, level: province}]", "must match"),
    ("departments: [{code: ubnd_x, level: hamlet}]", "has level 'hamlet'"),
    ("departments: [{code: ubnd_h, level: district, units: [{code: '213', era: '2025'}]}]", "districts ended"),
    ("departments: [{code: ubnd_x, level: commune, units: [{code: '7210', era: '2025'}]}]", "needs a code"),
    ("departments: [{code: so_a, level: province, sources: [nope]}]", "unknown source(s) nope"),
    ("departments: [{code: a_b, level: province, sources: [bacgiang_dossiers_export]},"
     " {code: c_d, level: province, sources: [bacgiang_dossiers_export]}]", "owned by both"),
    ("shared_datasets: [nothing]", "unknown dataset(s) nothing"),
    ("departmnets: []", "unknown keys: departmnets"),
    ("departments: [{code: a_b, level: province, colour: red}]", "unknown keys: colour"),
    ("departments: [", "not valid YAML"),
])
def test_a_bad_registry_is_one_line_naming_what_to_fix(tmp_path, monkeypatch, body, message):
    from pipeline.config import load_sources

    path = _registry(tmp_path, body)
    with pytest.raises(DepartmentsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_departments(path, load_sources())
    out = CliRunner().invoke(app, ["access", "sync", "--departments", str(path)])
    assert out.exit_code == 1 and out.output.startswith("error: ") and "Traceback" not in out.output


def test_once_roles_exist_the_pipelines_load_as_lienthong_loader(engine, demo_source, tmp_path, monkeypatch):
    from access.departments import departments_path
    from access.roles import as_loader
    from pipeline.config import load_sources
    from pipeline.run import run_source

    monkeypatch.setenv("HUB_HOME", str(tmp_path))
    assert as_loader(engine) is engine  # no role setup yet: the owner loads, as before
    registry = load_departments(departments_path(), load_sources())
    assert registry.get("so_tttt_bacgiang").sources == ("bacgiang_dossiers_export",)
    out = CliRunner().invoke(app, ["access", "sync"])
    assert out.exit_code == 0, out.output
    loader = as_loader(engine)
    with loader.connect() as conn:
        assert conn.execute(text("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")).one() \
            == ("lienthong_loader", False)
    result = run_source(demo_source, engine)
    assert result.totals["inserted"] > 0 and not result.held
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM core.dossier")).scalar() == result.totals["inserted"]
    with pytest.raises(Exception, match="permission denied"), loader.begin() as conn:
        conn.execute(text("INSERT INTO audit.access_log (actor, action, status) VALUES ('x', 'x', 'x')"))


def test_the_readme_documents_every_mart_view_with_its_columns_and_types():
    from sqlalchemy.dialects import postgresql

    from access.policies import mart_columns
    from pipeline.config import REPO_ROOT
    from schemas import all_schemas
    from warehouse.tables import schema_tables

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for s in all_schemas():
        line = next((row for row in readme.splitlines() if row.startswith(f"| `mart.{s.name}` |")), None)
        assert line, f"README lacks mart.{s.name}"
        core = schema_tables(s)[0]
        for c in mart_columns(s):
            assert f"`{c}` {core.c[c].type.compile(dialect=postgresql.dialect()).lower()}" in line, (s.name, c)
