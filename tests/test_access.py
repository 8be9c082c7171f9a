"""Issue 12: departments get their data, and only theirs.

One simulated province (``hub demo``, small) in a database and HUB_HOME of this module's own;
every check runs as a real PostgreSQL role over a real connection, and the API as a real
``hub serve`` process on 127.0.0.1. Expected rows are computed as the owner from the hierarchy
(demo.geography), independently of the policies under test.
"""
from __future__ import annotations

import contextlib
import csv
import io
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
import requests as http
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from access.requests import approve, request, revoke
from access.roles import grant_user, role_url
from conftest import fresh_database
from demo.geography import bac_giang
from demo.run import run_demo
from hub.cli import app

REFORM = "TIMESTAMPTZ '2025-07-01 00:00:00+07'"
ISSUED: list[str] = []  # every token and password this module saw, for the leak scan


@pytest.fixture(scope="module")
def province(template_url, outside_tmp):
    home = outside_tmp("access")
    with fresh_database(template_url) as (engine, url):
        with pytest.MonkeyPatch.context() as env:
            env.setenv("HUB_WAREHOUSE_URL", url)
            env.setenv("HUB_HOME", str(home))
            env.delenv("HUB_PII_KEY", raising=False)
            result = run_demo(engine, folder=home / "demo")
            assert not result.failed
            yield SimpleNamespace(engine=engine, url=url, home=home, result=result, users={})


def user_of(province, department: str) -> str:
    """A LOGIN user of the department's group (made once), as ``hub access grant`` makes it."""
    if department not in province.users:
        name = f"u_{department}"[:63]
        with province.engine.begin() as conn:
            password = grant_user(conn, f"dept_{department}", name)
        ISSUED.append(password)
        province.users[department] = role_url(province.engine, name, password)
    return province.users[department]


@contextlib.contextmanager
def connect_as(province, department: str):
    url = user_of(province, department).replace("postgresql+psycopg", "postgresql")
    from sqlalchemy.engine import make_url

    u = make_url(url)
    with psycopg.connect(host=u.query.get("host") or u.host, port=u.port, dbname=u.database, user=u.username,
                         password=u.password, autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == u.username
        assert not conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]
        yield conn


def keys(conn, sql: str) -> set:
    return {r[0] for r in conn.execute(sql).fetchall()}


def owner_keys(province, sql: str, **params) -> set:
    with province.engine.connect() as conn:
        return set(conn.execute(text(sql), params).scalars())


# ------------------------------------------------------------------------ roles and row-level security

def test_a_department_reads_none_of_another_departments_sources(province):
    all_dossiers = owner_keys(province, "SELECT dossier_code FROM core.dossier")
    assert len(all_dossiers) > 100
    with connect_as(province, "so_khdt") as conn:  # owns the enterprise register, governs no unit
        assert keys(conn, "SELECT dossier_code FROM mart.dossier") == set()
        assert keys(conn, "SELECT dossier_code FROM core.dossier") == set()  # empty, not an error
        assert conn.execute("SELECT count(*) FROM mart.enterprise").fetchone()[0] == \
            len(owner_keys(province, "SELECT tax_code FROM core.enterprise"))
    with connect_as(province, "so_tttt_bacgiang") as conn:  # owns the one-stop system
        assert keys(conn, "SELECT dossier_code FROM mart.dossier") == all_dossiers
        assert conn.execute("SELECT count(*) FROM mart.enterprise").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM mart.indicator_report").fetchone()[0] > 0  # shared


@pytest.mark.parametrize("sql", [
    "INSERT INTO core.dossier (dossier_code) VALUES ('X')",
    "UPDATE core.dossier SET status = 'rejected'",
    "DELETE FROM core.dossier",
    "DELETE FROM mart.dossier",
    "UPDATE mart.dossier SET status = 'rejected'",
    "DELETE FROM quarantine.dossier",
    "INSERT INTO audit.access_log (actor, action, status) VALUES ('x', 'x', 'x')",
    "DELETE FROM audit.batch",
    "UPDATE ref.admin_unit SET name = 'x'",
    "DELETE FROM access.department",
    "TRUNCATE core.dossier",
    "CREATE TABLE core.mine (x int)",
])
def test_a_department_cannot_write_anywhere(province, sql):
    with connect_as(province, "so_tttt_bacgiang") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(sql)


def test_departments_and_the_auditor_cannot_read_quarantine_raw_records(province):
    for department in ("so_tttt_bacgiang", "ubnd_tinh"):
        with connect_as(province, department) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT raw_record FROM quarantine.dossier")
    auditor = province.engine.url.set(username="lienthong_auditor",
                                      password=(province.home / "secrets" / "lienthong_auditor.password").read_text())
    eng = create_engine(auditor)
    try:
        with eng.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar() == "lienthong_auditor"
            assert conn.execute(text("SELECT count(*) FROM quarantine.dossier")).scalar() > 0  # reasons, positions
            assert conn.execute(text("SELECT count(*) FROM audit.batch")).scalar() > 0
        with eng.connect() as conn, pytest.raises(Exception, match="permission denied"):
            conn.execute(text("SELECT raw_record FROM quarantine.dossier"))
        with eng.connect() as conn:  # core through the masked views: every row, no raw personal value
            rows = conn.execute(text("SELECT * FROM mart.social_beneficiary")).mappings().all()
            assert len(rows) == len(owner_keys(province, "SELECT row_hash FROM core.social_beneficiary"))
            assert all("*" in r["citizen_id_masked"] for r in rows)
            assert not {"citizen_id", "full_name", "birth_date", "sex"} & set(rows[0])
        for column in ("full_name", "birth_date", "citizen_id_raw"):
            with eng.connect() as conn, pytest.raises(Exception, match="permission denied|does not exist"):
                conn.execute(text(f"SELECT {column} FROM core.social_beneficiary"))
    finally:
        eng.dispose()


def test_a_legacy_commune_sees_only_its_own_rows(province):
    code = next(d["units"][0]["code"] for d in _registry(province) if d["code"].endswith("_cu"))
    expected = owner_keys(province, f"SELECT dossier_code FROM core.dossier WHERE admin_unit_code = :c "
                                     f"AND received_at < {REFORM}", c=code)
    assert expected
    with connect_as(province, f"ubnd_xa_{code}_cu") as conn:
        assert keys(conn, "SELECT dossier_code FROM mart.dossier") == expected
        codes = keys(conn, "SELECT DISTINCT commune_code FROM mart.social_beneficiary")
        assert codes <= {code}


def test_a_2025_commune_sees_the_rows_of_the_legacy_communes_it_took_over(province):
    geo = bac_giang()
    predecessors = sorted(c for c, new in geo.successor.items() if new == "07210")
    assert len(predecessors) > 1 and "07201" in predecessors
    expected = owner_keys(province, f"""
        SELECT dossier_code FROM core.dossier
        WHERE (admin_unit_code = '07210' AND received_at >= {REFORM})
           OR (admin_unit_code = ANY(:legacy) AND received_at < {REFORM})""", legacy=predecessors)
    with connect_as(province, "ubnd_xa_07210") as conn:
        seen = conn.execute("SELECT dossier_code, admin_unit_code, received_at FROM mart.dossier").fetchall()
    assert {r[0] for r in seen} == expected
    assert {r[1] for r in seen} - {"07210"}, "no legacy predecessor's row is visible"
    assert any(r[1] == "07210" and r[2].year == 2025 and r[2].month >= 7 for r in seen)


def test_a_district_saw_its_communes_before_the_reform_and_nothing_after(province):
    geo = bac_giang()
    communes = geo.districts["213"] + ["213"]
    expected = owner_keys(province, f"SELECT dossier_code FROM core.dossier WHERE admin_unit_code = ANY(:c) "
                                     f"AND received_at < {REFORM}", c=communes)
    assert expected
    with connect_as(province, "ubnd_huyen_213") as conn:
        assert keys(conn, "SELECT dossier_code FROM mart.dossier") == expected
    with connect_as(province, "ubnd_tinh") as conn:  # the province: both sides of the reform, directly
        assert keys(conn, "SELECT dossier_code FROM mart.dossier") == \
            owner_keys(province, "SELECT dossier_code FROM core.dossier")


def test_the_policy_reads_the_hierarchy_once_per_query(province):
    with connect_as(province, "ubnd_xa_07210") as conn:
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN SELECT count(*) FROM mart.dossier").fetchall())
    assert "hashed SubPlan" in plan, plan


def test_a_grant_whose_name_tries_sql_injection_is_refused(province):
    for name in ('x"; DROP ROLE lienthong_loader; --', "robert'); DROP TABLE core.dossier;--", "Admin",
                 "pg_signal_backend", "lienthong_admin", "dept_so_khdt"):
        out = CliRunner().invoke(app, ["access", "grant", "so_khdt", name])
        assert out.exit_code == 1 and out.output.startswith("error: user name") and len(out.output.splitlines()) <= 2
    out = CliRunner().invoke(app, ["access", "grant", "so_khdt'; DROP TABLE core.dossier; --", "valid_name"])
    assert out.exit_code == 1 and "no department" in out.output
    with province.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM core.dossier")).scalar() > 0
        assert conn.execute(text("SELECT count(*) FROM pg_roles WHERE rolname = 'lienthong_loader'")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM pg_roles WHERE rolname = 'valid_name'")).scalar() == 0


def test_grant_list_revoke_a_sql_user(province):
    out = CliRunner().invoke(app, ["access", "grant", "ubnd_huyen_215", "tran_thi_b"])
    assert out.exit_code == 0, out.output
    password = out.output.split("password (shown once): ")[1].split()[0]
    ISSUED.append(password)
    listed = CliRunner().invoke(app, ["access", "list"])
    assert "tran_thi_b" in listed.output
    url = role_url(province.engine, "tran_thi_b", password)
    eng = create_engine(url)
    with eng.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM mart.dossier")).scalar() > 0
    eng.dispose()
    assert CliRunner().invoke(app, ["access", "revoke", "ubnd_huyen_215", "tran_thi_b"]).exit_code == 0
    assert "tran_thi_b" not in CliRunner().invoke(app, ["access", "list"]).output
    eng = create_engine(url)
    with pytest.raises(Exception, match="not permitted to log in"):
        eng.connect()
    eng.dispose()


def _registry(province) -> list[dict]:
    import yaml

    return yaml.safe_load(province.result.departments.read_text(encoding="utf-8"))["departments"]


# ------------------------------------------------------------------------ the API


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(province):
    """``hub serve`` as a real process on 127.0.0.1, its output kept for the leak scan."""
    port = _free_port()
    out = province.home / "server.log"
    env = {**os.environ, "HUB_WAREHOUSE_URL": province.url, "HUB_HOME": str(province.home)}
    with out.open("wb") as fh:
        proc = subprocess.Popen([str(Path(sys.executable).with_name("hub")), "serve", "--port", str(port),
                                 "--per-minute", "100"], stdout=fh, stderr=subprocess.STDOUT, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                with contextlib.suppress(http.ConnectionError):
                    if http.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                        break
                assert proc.poll() is None, out.read_text()
                time.sleep(0.2)
            yield SimpleNamespace(base=base, log=out)
        finally:
            proc.terminate()
            proc.wait(10)


def token_for(province, department: str, dataset: str, **kw) -> str:
    request_id, _ = request(province.engine, department, dataset, "tests")
    token, _ = approve(province.engine, request_id, **kw)
    ISSUED.append(token)
    return token


def get(server, path: str, token: str | None = None, **kw):
    headers = kw.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return http.get(f"{server.base}/api/v1{path}", headers=headers, timeout=30, **kw)


def page_all(server, token: str, dataset: str = "dossier", limit: int = 50, **params) -> list[dict]:
    out, cursor = [], None
    while True:
        r = get(server, f"/datasets/{dataset}/records", token, params={"limit": limit, "cursor": cursor, **params})
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["records"]
        cursor = body["next_cursor"]
        if not cursor:
            return out


def test_tokens_missing_wrong_expired_revoked_get_401(province, server):
    assert get(server, "/datasets").status_code == 401
    assert get(server, "/datasets", "lt_not-a-token").status_code == 401
    assert get(server, "/datasets", headers={"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 401
    expired = token_for(province, "ubnd_tinh", "dossier", valid_days=1)
    assert get(server, "/datasets/dossier/records", expired).status_code == 200
    with province.engine.begin() as conn:
        conn.execute(text("UPDATE access.token SET issued_at = now() - interval '3 days', "
                          "expires_at = now() - interval '1 second' WHERE token_id = (SELECT max(token_id) "
                          "FROM access.token)"))
    r = get(server, "/datasets/dossier/records", expired)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    revoked = token_for(province, "ubnd_tinh", "enterprise")
    assert get(server, "/datasets/enterprise/records", revoked).status_code == 200
    request_id = owner_keys(province, "SELECT max(request_id) FROM access.request").pop()
    assert revoke(province.engine, request_id) == 1
    assert get(server, "/datasets/enterprise/records", revoked).status_code == 401


def test_a_dataset_not_approved_is_403_and_an_unknown_one_404(province, server):
    token = token_for(province, "ubnd_huyen_213", "dossier")
    assert get(server, "/datasets/enterprise/records", token).status_code == 403
    assert get(server, "/datasets/enterprise/records/0100109106", token).status_code == 403
    assert get(server, "/datasets/no_such/records", token).status_code == 404
    catalogue = {d["name"]: d for d in get(server, "/datasets", token).json()}
    assert catalogue["dossier"]["approved"] and not catalogue["enterprise"]["approved"]
    assert catalogue["dossier"]["rows_visible"] == len(page_all(server, token))
    assert catalogue["dossier"]["owner"] == ["so_tttt_bacgiang"] and catalogue["dossier"]["freshness"]
    assert {f["name"] for f in catalogue["dossier"]["fields"]} >= {"dossier_code", "admin_unit_code", "received_at"}


def test_csv_and_json_give_the_same_rows(province, server):
    token = token_for(province, "ubnd_xa_07210", "dossier")
    as_json = get(server, "/datasets/dossier/records", token, params={"limit": 1000}).json()["records"]
    r = get(server, "/datasets/dossier/records", token, params={"limit": 1000}, headers={"Accept": "text/csv"})
    assert r.headers["content-type"].startswith("text/csv")
    as_csv = list(csv.DictReader(io.StringIO(r.text)))
    assert as_json and [{k: "" if v is None else str(v) for k, v in row.items()} for row in as_json] == as_csv
    one = as_json[0]
    assert get(server, f"/datasets/dossier/records/{one['dossier_code']}", token).json() == one
    assert get(server, "/datasets/dossier/records/G24.000000.999999", token).status_code == 404


def test_pagination_is_exact_while_a_load_runs_into_the_same_table(province, server):
    token = token_for(province, "so_tttt_bacgiang", "dossier")
    before = owner_keys(province, "SELECT dossier_code FROM core.dossier")
    stop = threading.Event()

    loads: list = []

    def load():  # a load committing inserts before and after the cursor, and updates, meanwhile
        n = 0
        while not stop.is_set():
            with province.engine.begin() as conn:
                conn.execute(text("""
                    INSERT INTO core.dossier (dossier_code, procedure_code, receiving_agency, admin_unit_code,
                        received_at, status, channel, source, batch_id, source_position, row_hash, schema_version)
                    SELECT prefix || lpad(CAST(:n AS text), 6, '0'), '1.0', 'x', '07210', now(), 'received', 'online',
                           'demo_onestop_dossiers', 0, 'test', md5(CAST(:n AS text)), '1.0'
                    FROM unnest(ARRAY['A', 'G24.250601.5', 'ZZ']) AS prefix"""), {"n": n})
                conn.execute(text("UPDATE core.dossier SET loaded_at = now() WHERE dossier_code IN "
                                  "(SELECT dossier_code FROM core.dossier ORDER BY random() LIMIT 20)"))
            n += 1
            loads.append(n)
            time.sleep(0.01)

    loader = threading.Thread(target=load)
    loader.start()
    try:
        got = [r["dossier_code"] for r in page_all(server, token, limit=20)]
    finally:
        stop.set()
        loader.join()
    assert len(loads) > 3, "the load did not run while the pages were read"
    assert len(got) == len(set(got)), "a row came twice"
    assert before <= set(got), "a row present throughout was skipped"
    assert got == sorted(got)
    with province.engine.begin() as conn:
        assert conn.execute(text("DELETE FROM core.dossier WHERE source_position = 'test'")).rowcount > 0


def test_429_with_retry_after(province, server):
    token = token_for(province, "cuc_thong_ke", "indicator_report")
    statuses = [get(server, "/datasets/indicator_report/records", token, params={"limit": 1}) for _ in range(101)]
    assert [r.status_code for r in statuses[:100]] == [200] * 100
    assert statuses[100].status_code == 429 and 1 <= int(statuses[100].headers["Retry-After"]) <= 60


NASTY = ["' OR 1=1 --", "\"; DROP TABLE core.dossier; --", "07210' OR '1'='1", "%00", "\x00", "../../etc/passwd",
         "x" * 100_00, "🙂" * 300, "-1", "99999999999999999999999", "1e308", "NaN", "null", "[]", "{}"]


def test_sql_injection_and_oversized_values_in_every_parameter(province, server):
    token = token_for(province, "ubnd_huyen_215", "dossier")
    visible = {r["dossier_code"] for r in page_all(server, token, limit=1000)}
    for value in NASTY:
        for params in ({"unit": value}, {"updated_since": value}, {"cursor": value}, {"limit": value}):
            r = get(server, "/datasets/dossier/records", token, params=params)
            assert r.status_code in (200, 400, 422), (params, r.status_code, r.text[:200])
            if r.status_code == 200:  # a value that parses (updated_since=-1 is 1970): still only its rows
                assert {x["dossier_code"] for x in r.json()["records"]} <= visible
        for path in (f"/datasets/{value}/records", f"/datasets/dossier/records/{value}"):
            r = get(server, path.replace("\x00", "%00"), token)
            assert r.status_code in (400, 403, 404, 422), (path[:80], r.status_code)
    assert {r["dossier_code"] for r in page_all(server, token, limit=1000)} == visible
    assert owner_keys(province, "SELECT count(*) FROM core.dossier").pop() > len(visible)


def test_the_openapi_document_fuzzed_gives_no_5xx(province, server):
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    token = token_for(province, "ubnd_tinh", "dossier")
    schema = schemathesis.openapi.from_url(f"{server.base}/openapi.json")
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case):
            response = case.call(base_url=server.base, headers={"Authorization": f"Bearer {token}"})
            if response.status_code >= 500:
                failures.append((case.method, case.formatted_path, case.query, response.status_code))

        check()
    assert not failures, failures[:5]


# ------------------------------------------------------------------------ the whole path (acceptance)

def test_a_departments_whole_path_request_approve_token_api_sql(province, server):
    """README, "A department's whole path": request access, approval, a token, its dossiers through
    the API, the same rows through mart.dossier as its SQL user, and nothing of another department."""
    runner = CliRunner()
    asked = runner.invoke(app, ["access", "request", "ubnd_xa_07210", "dossier", "--purpose", "Theo dõi hồ sơ"])
    assert asked.exit_code == 0, asked.output
    request_id = int(asked.output.split()[1].rstrip(":"))
    pending = runner.invoke(app, ["access", "requests"])
    assert f"{request_id}" in pending.output and "ubnd_xa_07210" in pending.output
    approved = runner.invoke(app, ["access", "approve", str(request_id)])
    assert approved.exit_code == 0, approved.output
    token = approved.stdout.strip().splitlines()[-1]
    ISSUED.append(token)
    assert token.startswith("lt_")
    via_api = page_all(server, token, limit=25)
    granted = runner.invoke(app, ["access", "grant", "ubnd_xa_07210", "le_van_c"])
    password = granted.output.split("password (shown once): ")[1].split()[0]
    ISSUED.append(password)
    eng = create_engine(role_url(province.engine, "le_van_c", password))
    with eng.connect() as conn:
        via_sql = [dict(r) for r in conn.execute(text("SELECT * FROM mart.dossier ORDER BY dossier_code")).mappings()]
    eng.dispose()
    assert [r["dossier_code"] for r in via_api] == [r["dossier_code"] for r in via_sql]
    assert via_api and all(r["admin_unit_code"] == s["admin_unit_code"] for r, s in zip(via_api, via_sql))
    # nothing of another department: not the legacy commune's rows, not another dataset
    other = next(d["units"][0]["code"] for d in _registry(province) if d["code"].endswith("_cu"))
    assert other not in {r["admin_unit_code"] for r in via_api}
    assert get(server, "/datasets/social_beneficiary/records", token).status_code == 403


# ------------------------------------------------------------------------ the access log

def test_every_request_and_decision_is_in_the_chained_access_log(province, server):
    with province.engine.connect() as conn:
        actions = dict(conn.execute(text("SELECT action, count(*) FROM audit.access_log GROUP BY 1")).all())
        api = conn.execute(text("SELECT status, dataset, rows_returned, filters FROM audit.access_log "
                                "WHERE action = 'api' ORDER BY log_id")).all()
    assert {"request", "approve", "revoke", "grant", "api"} <= set(actions)
    assert {"401", "403", "404", "429", "200"} <= {a.status for a in api}
    assert any(a.rows_returned and a.dataset == "dossier" for a in api)
    out = CliRunner().invoke(app, ["access", "verify-log"])
    assert out.exit_code == 0 and "access log intact" in out.output


def test_no_token_or_password_in_the_log_server_output_or_report(province, server):
    from report import build_report

    assert len(ISSUED) >= 8
    page = build_report(province.engine, province.home / "reports")
    with province.engine.connect() as conn:
        logged = "\n".join(str(tuple(r)) for r in conn.execute(text("SELECT * FROM audit.access_log")))
        stored = "\n".join(str(tuple(r)) for r in conn.execute(text("SELECT * FROM access.token")))
    report = "\n".join(p.read_text(errors="replace") for p in page.parent.rglob("*")
                        if p.is_file() and p.suffix in (".html", ".json"))
    texts = {"access log": logged, "token table": stored, "server output": server.log.read_text(errors="replace"),
             "report": report}
    access_page = (page.parent / "access.html").read_text()
    assert "Access: who read what" in access_page and "ubnd_xa_07210" in access_page
    for where, body in texts.items():
        for secret in ISSUED:
            assert secret not in body, f"a token or password is in the {where}"
