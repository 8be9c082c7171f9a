"""The SQL adapter against real department databases: a SQLite file and a database on the embedded PostgreSQL."""
from __future__ import annotations

import itertools
import json
import logging
import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import (Column, Date, DateTime, Integer, MetaData, String, Table, Text, create_engine, insert,
                        update)
from sqlalchemy import text as sql_text
from sqlalchemy.engine import make_url
from stdnum.vn import mst

from conftest import scalar
from pipeline.config import SourceConfig
from pipeline.run import StageError, run_source

FIELDS = {"ma_so_thue": "tax_code", "ten_doanh_nghiep": "name", "ngay_cap": "registration_date",
          "tinh_trang": "status", "ma_xa": "address_unit_code", "dia_chi": "address", "nganh_nghe": "industry_code",
          "cap_nhat_luc": "updated_at"}
STATUS = {"Đang hoạt động": "active", "Tạm ngừng kinh doanh": "suspended", "Đã giải thể": "dissolved"}
COMMUNES = ["07201", "07207", "07210", "07213", "07216"]  # legacy Bắc Giang communes, valid through 2025-06-30
COUNT = "SELECT count(*) FROM core.enterprise"
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
_databases = itertools.count()


def register_table(metadata: MetaData, *, sqlite: bool) -> Table:
    """The register as each kind of department database keeps it (SQLite apps store times as text)."""
    when = String(19) if sqlite else DateTime(timezone=True)
    return Table("dang_ky_doanh_nghiep", metadata,
                 Column("id", Integer, primary_key=True), Column("ma_so_thue", String(14)),
                 Column("ten_doanh_nghiep", Text), Column("ngay_cap", String(10) if sqlite else Date),
                 Column("tinh_trang", Text), Column("ma_xa", String(5)), Column("dia_chi", Text),
                 Column("nganh_nghe", String(5)), Column("cap_nhat_luc", when))


def _valid_tax_codes() -> list[str]:
    candidates = (f"24{j:07d}" for j in itertools.count(1))
    return list(itertools.islice((b + mst.calc_check_digit(b) for b in candidates
                                  if mst.is_valid(b + mst.calc_check_digit(b))), 100))


TAX_CODES = _valid_tax_codes()


def enterprise(i: int, updated: datetime, *, sqlite: bool, status: str = "Đang hoạt động") -> dict:
    return {"id": i, "ma_so_thue": TAX_CODES[i],
            "ten_doanh_nghiep": f"Công ty TNHH Nông sản Lục Ngạn số {i}",
            "ngay_cap": "2019-05-06" if sqlite else date(2019, 5, 6), "tinh_trang": status,
            "ma_xa": COMMUNES[i % len(COMMUNES)], "dia_chi": f"Thôn {i}, xã Kiên Lao", "nganh_nghe": "0121",
            "cap_nhat_luc": updated.strftime("%Y-%m-%d %H:%M:%S") if sqlite else updated.replace(tzinfo=HCM)}


def sql_source(**options) -> SourceConfig:
    return SourceConfig(name="dkkd_enterprises", adapter="sql", schema="enterprise",
                        options={"table": "dang_ky_doanh_nghiep", "key": "id", "updated_column": "cap_nhat_luc",
                                 "chunk_size": 7, **options},
                        fields=FIELDS, values={"status": STATUS})


def times(n: int, same_from: int = 10, same_to: int = 20) -> list[datetime]:
    """Rows 10-19 share one update time, so a chunk boundary falls inside equal timestamps."""
    return [datetime(2024, 3, 1, 8, 0) if same_from <= i < same_to else datetime(2024, 2, 1, 8, i) if i < same_from
            else datetime(2024, 3, 2, 8, i) for i in range(n)]


def test_a_sqlite_register_loads_then_only_its_changes(engine, tmp_path):
    dept = create_engine(f"sqlite:///{tmp_path / 'dkkd.sqlite'}")
    register = register_table(MetaData(), sqlite=True)
    register.metadata.create_all(dept)
    with dept.begin() as conn:
        conn.execute(insert(register), [enterprise(i, t, sqlite=True) for i, t in enumerate(times(30))])
    source = sql_source(url=f"sqlite:///{tmp_path / 'dkkd.sqlite'}")
    first = run_source(source, engine)
    assert first.totals == {"read": 30, "inserted": 30, "updated": 0, "unchanged": 0, "quarantined": 0}
    assert [b.counts["read"] for b in first.batches] == [7, 7, 7, 7, 2]
    assert scalar(engine, "SELECT count(*) FROM core.enterprise WHERE name IS NFC NORMALIZED") == 30
    assert scalar(engine, "SELECT source_position FROM core.enterprise WHERE tax_code = :t",
                  t=enterprise(12, times(30)[12], sqlite=True)["ma_so_thue"]) == "dang_ky_doanh_nghiep:id=12"

    again = run_source(source, engine)
    assert [b.status for b in again.batches] == ["unchanged"] and again.totals["read"] == 0

    with dept.begin() as conn:  # one change, and two new rows at the watermark's own timestamp
        conn.execute(update(register).where(register.c.id == 3).values(
            tinh_trang="Tạm ngừng kinh doanh", cap_nhat_luc="2024-03-02 08:30:00"))
        conn.execute(insert(register), [enterprise(i, datetime(2024, 3, 2, 8, 29), sqlite=True) for i in (30, 31)])
    third = run_source(source, engine)
    assert third.totals == {"read": 3, "inserted": 2, "updated": 1, "unchanged": 0, "quarantined": 0}
    assert scalar(engine, "SELECT status FROM core.enterprise WHERE source_position = 'dang_ky_doanh_nghiep:id=3'") \
        == "suspended"
    dept.dispose()


def test_without_a_key_rows_at_the_last_timestamp_are_read_again_not_lost(engine, tmp_path):
    dept = create_engine(f"sqlite:///{tmp_path / 'dkkd.sqlite'}")
    register = register_table(MetaData(), sqlite=True)
    register.metadata.create_all(dept)
    with dept.begin() as conn:
        conn.execute(insert(register), [enterprise(i, t, sqlite=True) for i, t in enumerate(times(20))])
    source = sql_source(url=f"sqlite:///{tmp_path / 'dkkd.sqlite'}", key=None,
                        query="SELECT ma_so_thue, ten_doanh_nghiep, ngay_cap, tinh_trang, ma_xa, dia_chi, nganh_nghe, "
                              "cap_nhat_luc FROM dang_ky_doanh_nghiep", table=None)
    assert run_source(source, engine).totals["inserted"] == 20
    again = run_source(source, engine)  # rows 10-19 share the last update time: read again, changed nothing
    assert again.totals == {"read": 10, "inserted": 0, "updated": 0, "unchanged": 10, "quarantined": 0}
    dept.dispose()


def test_by_an_increasing_key_alone_only_new_rows_are_read(engine, tmp_path):
    dept = create_engine(f"sqlite:///{tmp_path / 'dkkd.sqlite'}")
    register = register_table(MetaData(), sqlite=True)
    register.metadata.create_all(dept)
    with dept.begin() as conn:
        conn.execute(insert(register), [enterprise(i, t, sqlite=True) for i, t in enumerate(times(15))])
    source = sql_source(url=f"sqlite:///{tmp_path / 'dkkd.sqlite'}", updated_column=None, chunk_size=5)
    assert run_source(source, engine).totals["inserted"] == 15
    with dept.begin() as conn:
        conn.execute(insert(register), [enterprise(15, datetime(2024, 4, 1), sqlite=True)])
    assert run_source(source, engine).totals == {"read": 1, "inserted": 1, "updated": 0, "unchanged": 0,
                                                 "quarantined": 0}
    dept.dispose()


@pytest.fixture
def department_pg(template_url, monkeypatch):
    """A department's own database on the session's embedded server, reached through an Airflow connection."""
    server = make_url(template_url)
    name = f"dept_{next(_databases)}"
    password = "pw-" + secrets.token_hex(12)  # the hub's read-only role in the department's database
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        conn.exec_driver_sql(f"CREATE ROLE {name}_hub LOGIN PASSWORD '{password}'")
    url = server.set(database=name)
    monkeypatch.setenv("AIRFLOW_CONN_DKKD_DB", json.dumps({
        "conn_type": "postgres", "host": url.query["host"], "port": url.port, "login": f"{name}_hub",
        "password": password, "schema": name}))
    dept = create_engine(url)
    register = register_table(MetaData(), sqlite=False)
    register.metadata.create_all(dept)
    with dept.begin() as conn:
        conn.exec_driver_sql(f"GRANT SELECT ON dang_ky_doanh_nghiep TO {name}_hub")
    yield dept, register, password
    dept.dispose()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f"DROP ROLE {name}_hub")
    admin.dispose()


def test_a_postgresql_department_resumes_after_the_last_committed_chunk(engine, department_pg, caplog,
                                                                        capsys, interrupt_merge):
    caplog.set_level(logging.DEBUG)
    dept, register, password = department_pg
    with dept.begin() as conn:
        conn.execute(insert(register), [enterprise(i, t, sqlite=False) for i, t in enumerate(times(30))])
    source = sql_source(connection="dkkd_db", chunk_size=12,
                        query="SELECT r.*, 'register' AS nguon FROM dang_ky_doanh_nghiep r "
                              "WHERE r.tinh_trang <> 'Đã giải thể'", table=None)
    heal = interrupt_merge(2)
    with pytest.raises(StageError):
        run_source(source, engine)
    assert scalar(engine, COUNT) == 12
    heal()
    resumed = run_source(source, engine)
    assert resumed.totals == {"read": 18, "inserted": 18, "updated": 0, "unchanged": 0, "quarantined": 0}
    assert scalar(engine, COUNT) == 30
    # timestamptz came back as the department's local time
    assert scalar(engine, "SELECT to_char(updated_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD HH24:MI') "
                          "FROM core.enterprise WHERE source_position = 'query:id=12'") == "2024-03-01 08:00"
    with engine.connect() as conn:
        stored = " ".join(str(tuple(r)) for t in ("audit.batch", "audit.watermark")
                          for r in conn.execute(sql_text(f"SELECT * FROM {t}")))
    assert "dept_" in stored and "_hub:***@" in stored and "query" in stored
    out, err = capsys.readouterr()
    for where in (stored, caplog.text, out, err):
        assert password not in where


def test_a_missing_connection_names_the_variable_not_a_value(engine):
    with pytest.raises(StageError, match=r"environment variable AIRFLOW_CONN_NOWHERE .* is not set"):
        run_source(sql_source(connection="nowhere"), engine)
    with pytest.raises(StageError, match="either options.table or options.query"):
        run_source(sql_source(url="sqlite://", query="SELECT 1"), engine)


def test_a_password_in_the_registrys_url_is_refused_and_not_repeated(engine):
    source = sql_source(url="postgresql://dkkd:Hunter2pw@db.so-khdt.local/dkkd")
    with pytest.raises(StageError) as raised:
        run_source(source, engine)
    assert "options.url carries a password: name it in url_env or an Airflow connection" in str(raised.value)
    assert "Hunter2pw" not in str(raised.value)
