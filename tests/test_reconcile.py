"""Reconciliation between levels on planted discrepancies: each is found, nothing else is."""
from __future__ import annotations

import hashlib
import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, text

from refdata.hierarchy import units_at
from schemas import get_schema
from sync.findings import open_findings
from sync.geography import contributions
from sync.reconcile import ReconcileError, reconcile
from warehouse.tables import schema_tables

VN = ZoneInfo("Asia/Ho_Chi_Minh")
JUNE, JULY = date(2025, 6, 30), date(2025, 7, 31)


def put(engine, schema: str, rows: list[dict]) -> None:
    """Rows straight into a core table, with lineage, as a load would leave them."""
    core = schema_tables(get_schema(schema))[0]
    lineage = {"source": "test", "batch_id": 0, "row_hash": "0" * 32, "schema_version": "1.0"}
    with engine.begin() as conn:
        conn.execute(insert(core), [{**lineage, "source_position": f"t:{i}", **r} for i, r in enumerate(rows)])


def reports(indicator, period, period_end, values: dict[str, int]) -> list[dict]:
    return [{"indicator_code": indicator, "period_type": "month", "period": period, "period_end": period_end,
             "reporting_unit_code": code, "value": v} for code, v in values.items()]


@pytest.fixture
def bac_giang(engine):
    """June 2025 on the legacy map (communes, 10 districts, province 24); July on the 2025 map."""
    rnd = random.Random(1)
    with engine.connect() as conn:
        districts = units_at(conn, JUNE, level="district", parent_code="24")
        june = {}
        for d in districts:
            communes = {c.code: rnd.randint(900, 9000) for c in units_at(conn, JUNE, parent_code=d.code)}
            june.update(communes)
            june[d.code] = sum(communes.values())
        june["24"] = sum(june[d.code] for d in districts)
        july = {c.code: rnd.randint(900, 9000) for c in units_at(conn, JULY, parent_code="24")}
        july["24"] = sum(july.values())
    return districts, june, july


def checks_of(findings):
    return sorted((f.check, f.unit, f.period, f.subject, f.difference) for f in findings)


def test_indicator_totals_add_up_on_each_side_of_the_reform(engine, bac_giang):
    districts, june, july = bac_giang
    june, july = dict(june), dict(july)
    june["215"] += 5                     # a district over-reports; the province adds up what it was told
    june["24"] += 5
    missing = next(c for c in june if len(c) == 5 and c.startswith("07") and c not in ("07201",))
    del june[missing]                    # a commune that never reported
    july["24"] -= 3                      # the new province under-reports
    put(engine, "indicator_report", reports("POP_TOTAL", "2025-06", JUNE, june) +
        reports("POP_TOTAL", "2025-07", JULY, july))
    result = reconcile(engine, check="indicators")
    assert checks_of(result.findings) == sorted([
        ("indicator_sum", "215", "2025-06", "POP_TOTAL", Decimal(5)),
        ("indicator_missing_report", missing, "2025-06", "POP_TOTAL", None),
        ("indicator_sum", "24", "2025-07", "POP_TOTAL", Decimal(-3)),
    ])
    (july_finding,) = [f for f in result.findings if f.period == "2025-07"]
    assert july_finding.level == "province" and "its 99 children sum to" in july_finding.detail
    # the district whose commune is missing is not also called wrong: a missing report is not a zero
    assert not [f for f in result.findings if f.check == "indicator_sum" and f.period == "2025-06" and f.unit != "215"]
    again = reconcile(engine, check="indicators")
    with engine.connect() as conn:
        assert len(open_findings(conn)) == 3
        assert conn.execute(text("SELECT count(*) FROM audit.reconciliation")).scalar() == 3
    assert checks_of(again.findings) == checks_of(result.findings)


def test_a_fixed_figure_resolves_its_finding(engine, bac_giang):
    _, june, _ = bac_giang
    june = dict(june, **{"24": june["24"] + 5})
    put(engine, "indicator_report", reports("POP_TOTAL", "2025-06", JUNE, june))
    assert len(reconcile(engine, check="indicators").findings) == 1
    with engine.begin() as conn:
        conn.execute(text("UPDATE core.indicator_report SET value = value - 5 WHERE reporting_unit_code = '24'"))
    assert reconcile(engine, check="indicators").findings == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM audit.reconciliation")).scalars().all() == ["resolved"]


def test_tolerance_and_non_additive_indicators_come_from_the_catalogue(engine, bac_giang):
    _, june, _ = bac_giang
    rice = {k: Decimal(v) / 10 for k, v in june.items()}
    rice["213"] += Decimal("0.4")        # within RICE_OUTPUT's tolerance of 0.5
    rice["24"] += Decimal("0.4")         # ... and the province adds up what its districts said
    rate = {k: 3 for k in june}          # a rate does not add up, and is not checked
    put(engine, "indicator_report", reports("RICE_OUTPUT", "2025-06", JUNE, rice) +
        reports("POOR_RATE", "2025-06", JUNE, rate))
    assert reconcile(engine, check="indicators").findings == []
    # on the 2025 map the province is read against its communes: 0.4 off, still within tolerance
    assert reconcile(engine, check="indicators", as_of_geography="2025").findings == []
    with engine.begin() as conn:
        conn.execute(text("UPDATE core.indicator_report SET value = value + 0.2 WHERE reporting_unit_code = '24' "
                          "AND indicator_code = 'RICE_OUTPUT'"))
    (finding,) = reconcile(engine, check="indicators", as_of_geography="2025").findings
    assert (finding.unit, finding.subject, finding.difference) == ("24", "RICE_OUTPUT", Decimal("0.6"))


def test_legacy_figures_re_expressed_on_the_2025_map(engine, bac_giang):
    districts, june, _ = bac_giang
    put(engine, "indicator_report", reports("POP_TOTAL", "2025-06", JUNE, june))
    parts = contributions(engine.connect(), period="2025-06", indicator="POP_TOTAL")
    by_new: dict[str, set[str]] = {}
    for p in parts:
        by_new.setdefault(p["new_code"], set()).add(p["legacy_district"])
    for d in districts:  # a district whose communes merged only among themselves
        targets = {p["new_code"] for p in parts if p["legacy_district"] == d.code}
        if all(by_new[t] == {d.code} for t in targets):
            break
    else:
        pytest.fail("no legacy district maps onto 2025 communes of its own")
    new_values: dict[str, Decimal] = {}
    for p in parts:
        new_values[p["new_code"]] = new_values.get(p["new_code"], Decimal(0)) + Decimal(p["value"])
    assert sum(new_values[t] for t in targets) == june[d.code]
    # on the 2025 map, legacy Bắc Giang's June total is read against its communes re-expressed
    assert reconcile(engine, check="indicators", as_of_geography="2025").findings == []
    with engine.begin() as conn:
        conn.execute(text("UPDATE core.indicator_report SET value = value + 7 WHERE reporting_unit_code = '24'"))
    (finding,) = reconcile(engine, check="indicators", as_of_geography="2025").findings
    assert (finding.check, finding.unit, finding.period, finding.geography, finding.difference) == \
        ("indicator_sum_2025", "24", "2025-06", "2025", Decimal(7))
    assert "divided commune counts whole towards its default successor" in finding.detail
    with pytest.raises(ReconcileError, match="legacy or 2025"):
        reconcile(engine, as_of_geography="1990")


def _dossier(code, unit, received: datetime, completed: datetime | None, due: datetime):
    return {"dossier_code": code, "procedure_code": "1.001612", "receiving_agency": "x", "admin_unit_code": unit,
            "received_at": received, "due_at": due, "completed_at": completed,
            "status": "completed" if completed else "processing", "channel": "online"}


def test_dossier_statistics_agree_with_the_dossiers(engine):
    t = lambda d, h=9: datetime(d.year, d.month, d.day, h, tzinfo=VN)  # noqa: E731
    june_day, july_day = date(2025, 6, 20), date(2025, 7, 20)
    rows = [
        _dossier("A1", "07201", t(june_day), t(june_day, 15), t(june_day + timedelta(days=3))),   # on time
        _dossier("A2", "07201", t(june_day), None, t(june_day + timedelta(days=3))),
        _dossier("A3", "07207", t(june_day), t(june_day, 16), t(june_day, 10)),                   # late
        _dossier("B1", "07210", t(july_day), t(july_day, 11), t(july_day + timedelta(days=2))),
        _dossier("B2", "07210", t(july_day), None, t(july_day + timedelta(days=2))),
    ]
    put(engine, "dossier", rows)

    def stat(unit, day, received, completed, on_time):
        return {"unit_code": unit, "period": day.isoformat(), "period_end": day, "received_count": received,
                "completed_count": completed, "completed_on_time_count": on_time}

    put(engine, "dossier_statistic", [
        stat("07201", june_day, 2, 1, 1),     # right
        stat("213", june_day, 3, 2, 1),       # the district (Thọ Xương and Ngô Quyền are its wards): right
        stat("24", june_day, 4, 2, 1),        # the province says 4 received: wrong by 1
        stat("07210", july_day, 2, 1, 0),     # says 0 on time: wrong by -1
        stat("24", july_day, 2, 1, 1),        # right, on the 2025 hierarchy
    ])
    result = reconcile(engine, check="dossiers")
    assert checks_of(result.findings) == sorted([
        ("dossier_statistics", "24", "2025-06-20", "received_count", 1),
        ("dossier_statistics", "07210", "2025-07-20", "completed_on_time_count", -1),
    ])


def _hash(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def test_documents_that_never_arrive_and_statuses_for_unknown_documents(engine):
    sent = date(2025, 9, 5)  # a Friday: one working day later is Monday 8 September
    put(engine, "official_document", [{
        "document_id": "000.00.24.H01,2025/09/05,12/UBND-VP", "organ_id": "000.00.24.H01", "code_number": "12",
        "document_type": "CV", "subject": "V/v báo cáo", "promulgation_date": sent,
        "recipients": "000.24.01.H01;000.24.02.H01;000.24.03.H01"}])
    at = lambda d, h: datetime(d.year, d.month, d.day, h, tzinfo=VN)  # noqa: E731
    put(engine, "document_trace", [
        {"document_id": "000.00.24.H01,2025/09/05,12/UBND-VP", "recipient_organ_id": "000.24.01.H01",
         "status_code": "01", "status_at": at(date(2025, 9, 8), 10)},                       # Monday: on time
        {"document_id": "000.00.24.H01,2025/09/05,12/UBND-VP", "recipient_organ_id": "000.24.03.H01",
         "status_code": "03", "status_at": at(date(2025, 9, 10), 10)},                      # Wednesday: late
        {"document_id": "000.00.24.H09,2025/09/01,7/UBND", "recipient_organ_id": "000.24.01.H01",
         "status_code": "05", "status_at": at(date(2025, 9, 2), 10)},                       # never seen
    ])
    result = reconcile(engine, check="documents", as_of=date(2025, 10, 1))
    assert sorted((f.check, f.unit, f.period) for f in result.findings) == [
        ("document_not_received", "000.24.02.H01", "000.00.24.H01,2025/09/05,12/UBND-VP"),
        ("document_not_received", "000.24.03.H01", "000.00.24.H01,2025/09/05,12/UBND-VP"),
        ("document_unknown", "000.24.01.H01", "000.00.24.H09,2025/09/01,7/UBND"),
    ]
    assert "received 2025-09-10" in [f for f in result.findings if f.unit == "000.24.03.H01"][0].detail
    # before the deadline passes nothing is late yet
    assert [f.check for f in reconcile(engine, check="documents", as_of=date(2025, 9, 8)).findings] == \
        ["document_unknown"]


def test_beneficiaries_paid_twice_or_missing_from_the_consolidated_list(engine):
    month = date(2025, 9, 1)

    def row(n, commune, level="commune"):
        return {"citizen_id_hash": _hash(n), "citizen_id_masked": f"024*******{n:02d}", "full_name": f"Người {n}",
                "birth_date": date(1940, 1, 1), "sex": "male", "commune_code": commune, "benefit_type": "elderly_80",
                "monthly_amount": 540000, "start_date": date(2025, 1, 1), "list_month": month, "list_level": level}

    put(engine, "social_beneficiary", [
        row(1, "07210"), row(1, "07228"),            # the same person in two communes
        row(2, "07210"), row(3, "07228"),
        row(1, "07210", "province"), row(1, "07228", "province"), row(2, "07210", "province"),  # 3 is missing
    ])
    result = reconcile(engine, check="beneficiaries")
    assert sorted((f.check, f.unit, f.period, f.subject) for f in result.findings) == [
        ("beneficiary_double", "07210,07228", "2025-09", _hash(1)),
        ("beneficiary_not_consolidated", "07228", "2025-09", _hash(3)),
    ]
    assert all("024*******" in f.detail for f in result.findings)
