"""The REST adapter against a real HTTP server on 127.0.0.1: faults, expiring tokens, increments, resume, secrets."""
from __future__ import annotations

import logging
import secrets
import time

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from conftest import demo_rows, scalar
from demo.onestop_server import OneStopServer, dossier_records, statistics_records
from hub.cli import app
from pipeline.config import SourceConfig
from pipeline.run import StageError, run_source

FIELDS = {"ma_ho_so": "dossier_code", "ma_tthc": "procedure_code", "co_quan_tiep_nhan": "receiving_agency",
          "don_vi.ma_dvhc": "admin_unit_code", "ngay_tiep_nhan": "received_at", "ngay_hen_tra": "due_at",
          "ngay_tra_ket_qua": "completed_at", "trang_thai": "status", "hinh_thuc_nop": "channel"}
COUNT = "SELECT count(*) FROM core.dossier"


@pytest.fixture
def records():
    return dossier_records(demo_rows()[1][:250])


@pytest.fixture
def onestop(records, monkeypatch):
    with OneStopServer({"dossiers": records}) as server:
        monkeypatch.setenv("ONESTOP_CLIENT_ID", server.client_id)
        monkeypatch.setenv("ONESTOP_CLIENT_SECRET", server.client_secret)
        yield server


@pytest.fixture
def rest_source(demo_source, onestop):
    def make(**options) -> SourceConfig:
        base = {"base_url": onestop.url, "endpoint": "/api/dossiers",
                "pagination": {"style": "page", "size": 100},
                "updated_since_param": "updated_since", "updated_field": "ngay_cap_nhat", "key_field": "ma_ho_so",
                "auth": {"type": "bearer", "token_url": "/auth/token", "client_id_env": "ONESTOP_CLIENT_ID",
                         "client_secret_env": "ONESTOP_CLIENT_SECRET"},
                "timeout": {"connect": 2, "read": 0.4}, "retries": 4, "backoff": 0.01}
        return SourceConfig(name="onestop_dossiers", adapter="rest", schema="dossier", options={**base, **options},
                            fields=FIELDS, values=demo_source.values, date_formats=("%Y-%m-%dT%H:%M:%S",))
    return make


def data_requests(server) -> list[dict]:
    return [r for r in server.requests if r["method"] == "GET"]


def test_every_page_loads_through_a_500_a_429_a_timeout_and_a_dropped_connection(engine, onestop, rest_source):
    onestop.inject("500", ("429", 1), ("slow", 1.0), "drop")
    started = time.monotonic()
    result = run_source(rest_source(), engine)
    assert time.monotonic() - started >= 1.0  # Retry-After: 1 was honoured
    assert result.totals == {"read": 250, "inserted": 250, "updated": 0, "unchanged": 0, "quarantined": 0}
    assert [b.counts["read"] for b in result.batches] == [100, 100, 50]
    assert len(data_requests(onestop)) == 3 + 4  # three pages, four of the attempts failed
    with engine.connect() as conn:
        files = {f for (f,) in conn.execute(text("SELECT DISTINCT file FROM audit.batch"))}
        position = conn.execute(text("SELECT source_position FROM core.dossier LIMIT 1")).scalar()
    assert files == {f"{onestop.url}/api/dossiers"}
    assert position.startswith("GET /api/dossiers#ma_ho_so=")


def test_retries_run_out_with_one_clear_line(engine, onestop, rest_source):
    onestop.inject(*["500"] * 3)
    with pytest.raises(StageError) as failed:
        run_source(rest_source(retries=2), engine)
    assert str(failed.value) == (f"source 'onestop_dossiers', extract: GET {onestop.url}/api/dossiers?page=1&size=100 "
                                 "answered HTTP 500 Internal Server Error")
    assert scalar(engine, COUNT) == 0


def test_an_expiring_token_is_renewed(engine, onestop, rest_source):
    onestop.token_uses = 1  # every token is good for one request
    result = run_source(rest_source(), engine)
    assert result.totals["inserted"] == 250
    assert sum(r["path"] == "/auth/token" for r in onestop.requests) == 3
    assert [r["authorization"] is not None for r in data_requests(onestop)] == [True] * 5  # 2 refused, renewed


def test_a_token_refused_after_renewal_fails_clearly(engine, onestop, rest_source, monkeypatch):
    monkeypatch.setenv("ONESTOP_TOKEN", "not-a-valid-token-0000")
    with pytest.raises(StageError, match=r"was refused \(HTTP 401\) with a renewed credential"):
        run_source(rest_source(auth={"type": "bearer", "env": "ONESTOP_TOKEN"}), engine)
    monkeypatch.setenv("ONESTOP_CLIENT_SECRET", "wrong-secret-1234")
    with pytest.raises(StageError, match=r"POST .*/auth/token answered HTTP 401"):
        run_source(rest_source(), engine)
    monkeypatch.delenv("ONESTOP_TOKEN")
    with pytest.raises(StageError, match="environment variable ONESTOP_TOKEN .* is not set"):
        run_source(rest_source(auth={"type": "bearer", "env": "ONESTOP_TOKEN"}), engine)


def test_the_next_run_asks_only_for_what_changed(engine, onestop, rest_source, records):
    source = rest_source()
    run_source(source, engine)
    latest = max(r["ngay_cap_nhat"] for r in records)
    boundary = sum(r["ngay_cap_nhat"] == latest for r in records)
    again = run_source(source, engine)
    assert data_requests(onestop)[-1]["query"] == {"updated_since": latest, "page": "1", "size": "100"}
    # the records at the watermark are read again and merge as unchanged: none lost, none changed
    assert again.totals == {"read": boundary, "inserted": 0, "updated": 0, "unchanged": boundary, "quarantined": 0}
    changed = dict(records[7], trang_thai="Đã trả kết quả", ngay_tra_ket_qua=records[7]["ngay_hen_tra"],
                   ngay_cap_nhat="2025-11-20T09:00:00")
    assert changed["ngay_hen_tra"] < "2025-11-20"
    onestop.upsert("dossiers", changed)
    third = run_source(source, engine)
    assert third.totals["updated"] == 1 and third.totals["inserted"] == 0
    status = scalar(engine, "SELECT status FROM core.dossier WHERE dossier_code = :c", c=changed["ma_ho_so"])
    assert status == "completed"
    assert scalar(engine, COUNT) == 250


@pytest.mark.parametrize("style", ["page", "cursor"])
def test_an_interrupted_run_resumes_at_the_next_page(engine, onestop, rest_source, style, interrupt_merge):
    source = rest_source(pagination={"style": style, "size": 100})
    heal = interrupt_merge(2)
    with pytest.raises(StageError):
        run_source(source, engine)
    assert scalar(engine, COUNT) == 100
    heal()
    seen = len(onestop.requests)
    resumed = run_source(source, engine)
    assert resumed.totals == {"read": 150, "inserted": 150, "updated": 0, "unchanged": 0, "quarantined": 0}
    first = [r for r in onestop.requests[seen:] if r["method"] == "GET"][0]["query"]
    assert first.get("page") == "2" if style == "page" else first.get("cursor")
    assert scalar(engine, COUNT) == 250


def test_no_secret_in_logs_errors_audit_or_reports(engine, onestop, rest_source, monkeypatch, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    token, password = "tk-" + secrets.token_urlsafe(16), "pw-" + secrets.token_urlsafe(12)
    onestop.static_tokens.add(token)
    onestop.basic = ("hub", password)
    monkeypatch.setenv("ONESTOP_TOKEN", token)
    monkeypatch.setenv("AIRFLOW_CONN_ONESTOP_BASIC", f"http://hub:{password}@127.0.0.1/?timeout=5")
    monkeypatch.setenv("AIRFLOW_CONN_ONESTOP_JSON", '{"conn_type": "http", "password": "%s"}' % token)
    errors = []
    onestop.inject("500", ("slow", 1.0))
    assert run_source(rest_source(auth={"type": "bearer", "env": "ONESTOP_TOKEN"}), engine).totals["inserted"] == 250
    assert run_source(rest_source(auth={"type": "basic"}, connection="onestop_basic"), engine,
                      full_refresh=True).totals["unchanged"] == 250
    assert run_source(rest_source(auth={"type": "bearer", "connection": "onestop_json"}), engine,
                      full_refresh=True).totals["read"] == 250
    onestop.static_tokens.clear()
    onestop.basic = ("hub", "changed")
    for auth in ({"type": "bearer", "env": "ONESTOP_TOKEN"}, {"type": "basic", "connection": "onestop_basic"}):
        with pytest.raises(StageError) as failed:
            run_source(rest_source(auth=auth), engine, full_refresh=True)
        errors.append(str(failed.value))
    assert all("HTTP 401" in e for e in errors)
    with pytest.raises(StageError, match="holds credentials: use options.auth") as failed:
        run_source(rest_source(base_url=f"http://hub:{password}@{onestop.url.split('//')[1]}"), engine)
    errors.append(str(failed.value))
    report = CliRunner().invoke(app, ["status", "--limit", "50"]).output
    with engine.connect() as conn:
        stored = " ".join(str(tuple(r)) for table in ("audit.batch", "audit.watermark", "core.dossier")
                          for r in conn.execute(text(f"SELECT * FROM {table}")))
    out, err = capsys.readouterr()
    for secret in (token, password):
        for where, what in (("log", caplog.text), ("stdout", out), ("stderr", err), ("errors", " ".join(errors)),
                            ("warehouse", stored), ("report", report)):
            assert secret not in what, f"secret found in {where}"
    assert "Retrying" in caplog.text  # the logs were captured: a secret in them would have been seen


def test_daily_statistics_at_each_level_load_as_dossier_statistics(engine, records, monkeypatch):
    with engine.connect() as conn:  # legacy communes and their districts, from the reference data
        parents = dict(conn.execute(text("SELECT code, parent_code FROM ref.admin_unit "
                                         "WHERE level = 'commune' AND era = 'legacy'")).all())
    stats = statistics_records(records, parents)
    with OneStopServer({"statistics": stats}, static_tokens=("stats-token",)) as server:
        monkeypatch.setenv("ONESTOP_TOKEN", "stats-token")
        source = SourceConfig(
            name="onestop_statistics", adapter="rest", schema="dossier_statistic",
            options={"base_url": server.url, "endpoint": "/api/statistics", "key_field": "id",
                     "pagination": {"style": "cursor", "size": 200}, "updated_since_param": "updated_since",
                     "updated_field": "ngay_cap_nhat", "auth": {"type": "bearer", "env": "ONESTOP_TOKEN"}},
            fields={"ma_don_vi": "unit_code", "ky": "period", "ngay_cuoi_ky": "period_end",
                    "so_tiep_nhan": "received_count", "so_da_tra_ket_qua": "completed_count",
                    "so_tra_dung_han": "completed_on_time_count", "ngay_cap_nhat": "reported_at"})
        result = run_source(source, engine)
    assert result.totals["inserted"] == len(stats) and result.totals["quarantined"] == 0
    with engine.connect() as conn:
        levels = dict(conn.execute(text(
            "SELECT u.level, sum(s.received_count) FROM core.dossier_statistic s JOIN ref.admin_unit u "
            "ON u.code = s.unit_code AND s.period_end BETWEEN coalesce(u.valid_from, '1900-01-01') "
            "AND coalesce(u.valid_to, '2999-12-31') GROUP BY u.level")).all())
    # every dossier is counted at its commune and the province, and at its district before the reform
    before = sum(r["ngay_tiep_nhan"] < "2025-07-01" for r in records)
    assert levels["commune"] == levels["province"] == len(records)
    assert levels["district"] == before and 0 < before < len(records)


def test_offset_pages_and_an_api_key_header_as_the_telemedicine_platform_serves_them(monkeypatch):
    """The platform's own shape (demo/telemedicine.py): X-API-Key, offset/limit, data.consultations."""
    from adapters.rest_json import RestJson
    from demo.telemedicine import TelemedicineServer

    records = [{"id": f"TM-{i:03d}", "cap_nhat": f"2025-06-{1 + i % 28:02d}T08:00:00"} for i in range(23)]
    options = {"endpoint": "/v2/consultations", "items_field": "data.consultations",
               "pagination": {"style": "offset", "offset_param": "offset", "limit_param": "limit", "size": 10},
               "updated_since_param": "modified_from", "updated_field": "cap_nhat", "key_field": "id",
               "auth": {"type": "api_key", "header": "X-API-Key", "env": "TM_KEY"}}
    with TelemedicineServer(records) as server:
        monkeypatch.setenv("TM_KEY", server.api_key)
        batches = list(RestJson("tm", {**options, "base_url": server.url}).batches())
        # every page after the first is asked one record early: that record proves the pages did not shift
        assert [len(b.records) for b in batches] == [10, 9, 4]
        assert [r["query"]["offset"] for r in server.requests] == ["0", "9", "18", "22"]  # the last: empty
        assert sorted(i for b in batches for i in b.records["id"]) == sorted(r["id"] for r in records)
        monkeypatch.setenv("TM_KEY", "wrong")
        with pytest.raises(Exception) as refused:
            list(RestJson("tm", {**options, "base_url": server.url}).batches())
        assert "HTTP 401" in str(refused.value) and "wrong" not in str(refused.value)
