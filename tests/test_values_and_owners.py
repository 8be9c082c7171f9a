"""Values that must not load (numbers in the source's locale, infinities, implausible amounts and
days) and keys that belong to the source that first loaded them."""
from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import text

from conftest import demo_rows, scalar, write_csv
from pipeline.config import SourceConfig
from pipeline.run import run_source
from schemas import SchemaError, all_schemas, load_schema_file

INDICATOR = ["indicator_code", "period_type", "period", "period_end", "reporting_unit_code", "value", "unit_of_measure"]
STATISTIC = ["unit_code", "period", "period_end", "received_count", "completed_count", "completed_on_time_count",
             "reported_at"]


def file_source(name: str, schema: str, path, **kw) -> SourceConfig:
    return SourceConfig(name=name, adapter="file", schema=schema, options={"path": str(path), "encoding": "utf-8"},
                        date_formats=("%d/%m/%Y", "%d/%m/%Y %H:%M"), **kw)


def quarantined(engine, schema: str) -> dict[str, tuple[list[str], str]]:
    with engine.connect() as conn:
        return {r.source_position.split(":")[-1]: (r.failed_checks, r.reason) for r in conn.execute(
            text(f"SELECT source_position, failed_checks, reason FROM quarantine.{schema}"))}


def test_numbers_are_read_in_the_locale_the_source_declares(engine, tmp_path):
    values = ["720.000", "1.234.567,5", "1234", "12.34", "inf", "NaN", "1e308", "-Infinity", "1,5"]
    rows = [[f"IND{i}", "month", "2025-06", "30/06/2025", "24", v, "VND"] for i, v in enumerate(values)]
    path = write_csv(tmp_path / "indicators.csv", INDICATOR, rows)
    result = run_source(file_source("vi_indicators", "indicator_report", path, locale="vi"), engine)
    assert result.totals["read"] == len(values)
    with engine.connect() as conn:
        loaded = dict(conn.execute(text("SELECT indicator_code, value FROM core.indicator_report")).all())
    assert loaded == {"IND0": 720000, "IND1": 1234567.5, "IND2": 1234, "IND8": 1.5}
    bad = quarantined(engine, "indicator_report")
    assert sorted(bad) == ["5", "6", "7", "8", "9"]  # lines 5..9: 12.34, inf, NaN, 1e308, -Infinity
    assert bad["5"] == (["parse_number:value"], "value '12.34' is not a number (Vietnamese: 1.234.567,89)")
    # a plain source (a machine format) reads a point as the decimal point, and still refuses infinity
    plain = write_csv(tmp_path / "plain.csv", INDICATOR, [["P1", "month", "2025-06", "30/06/2025", "24", "12.34", "%"],
                                                          ["P2", "month", "2025-06", "30/06/2025", "24", "1e999", "%"]])
    run_source(file_source("plain_indicators", "indicator_report", plain), engine)
    assert float(scalar(engine, "SELECT value FROM core.indicator_report WHERE indicator_code = 'P1'")) == 12.34
    assert scalar(engine, "SELECT count(*) FROM core.indicator_report WHERE indicator_code = 'P2'") == 0


def test_implausible_amounts_and_days_are_quarantined_with_their_bound(engine, tmp_path):
    rows = [["24", "2025-06", "30/06/2025", "10", "5", "4", "01/07/2025 08:00"],
            ["24", "2025-07", "31/07/2025", "-3", "0", "0", "01/08/2025 08:00"],
            ["24", "2025-08", "01/01/2999", "1", "1", "1", "01/09/2025 08:00"],
            ["24", "2025-09", "01/01/1800", "1", "1", "1", "01/10/2025 08:00"],
            ["24", "2025-10", "31/10/2025", "1", "1", "1", "01/01/1800 08:00"]]
    path = write_csv(tmp_path / "statistics.csv", STATISTIC, rows)
    result = run_source(file_source("statistics", "dossier_statistic", path), engine)
    assert result.totals["inserted"] == 1 and result.totals["quarantined"] == 4
    bad = quarantined(engine, "dossier_statistic")
    assert bad["3"] == (["range:received_count"], "received_count -3 is outside its plausible range (at least 0)")
    assert bad["4"][0] == ["range:period_end"] and "2999-01-01" in bad["4"][1]
    assert bad["5"][0] == ["range:period_end"] and "1800-01-01" in bad["5"][1]
    assert bad["6"][0] == ["range:reported_at"]


ENTERPRISE = ["tax_code", "name", "registration_date", "status", "address_unit_code", "address", "industry_code",
              "updated_at"]


def test_a_date_field_in_the_future_is_quarantined(engine, tmp_path):
    """``registration_date`` states no ``max``, only ``not_in_future``: the suite's check is what
    keeps 2999-01-01 (and tomorrow, in Việt Nam) out. It once failed with no rows and loaded them."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from stdnum.vn import mst

    codes = [b + mst.calc_check_digit(b) for b in (f"24{j:07d}" for j in range(1, 40))
             if mst.is_valid(b + mst.calc_check_digit(b))][:3]
    tomorrow = (datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) + timedelta(days=1)).strftime("%d/%m/%Y")
    rows = [[code, f"Công ty số {i}", day, "active", "07210", "Thôn 1", "0121", "01/03/2024 08:00"]
            for i, (code, day) in enumerate(zip(codes, ["06/05/2019", "01/01/2999", tomorrow]))]
    path = write_csv(tmp_path / "enterprises.csv", ENTERPRISE, rows)
    result = run_source(file_source("enterprises", "enterprise", path), engine)
    assert result.totals["read"] == 3 and result.totals["inserted"] == 1 and result.totals["quarantined"] == 2
    bad = quarantined(engine, "enterprise")
    assert bad["3"] == (["not_in_future:registration_date"], "registration_date 2999-01-01 is in the future")
    assert bad["4"][0] == ["not_in_future:registration_date"]


def test_every_date_field_of_every_schema_states_its_bounds(tmp_path):
    for schema in all_schemas():
        for f in schema.fields:
            if f.type in ("date", "timestamp"):
                assert f.min is not None and (f.max is not None or f.not_in_future), (schema.name, f.name)
    unbounded = tmp_path / "x.yaml"
    unbounded.write_text("name: x\nversion: '1.0'\nnatural_key: [d]\nfields:\n  - {name: d, type: date}\n")
    with pytest.raises(SchemaError, match="d: a date field states its bounds"):
        load_schema_file(unbounded)


@pytest.fixture
def two_sources(demo_source, tmp_path):
    header, rows = demo_rows()
    rows = rows[:30]
    first = write_csv(tmp_path / "a.csv", header, rows)
    changed = [r[:] for r in rows]
    for r in changed[:10]:
        r[2] = "Bộ phận một cửa khác"  # the receiving agency, as the second system has it
    second = write_csv(tmp_path / "b.csv", header, changed)

    def make(name, path, **kw):
        return dataclasses.replace(demo_source, name=name, options={**demo_source.options, "path": str(path)}, **kw)
    return make, first, second


def test_a_key_belongs_to_the_source_that_first_loaded_it(engine, two_sources):
    make, first, second = two_sources
    run_source(make("one_stop_a", first), engine)
    before = scalar(engine, "SELECT md5(string_agg(row_hash, ',' ORDER BY dossier_code)) FROM core.dossier")
    other = run_source(make("one_stop_b", second), engine)
    assert other.totals == {"read": 30, "inserted": 0, "updated": 0, "unchanged": 20, "quarantined": 10}
    assert scalar(engine, "SELECT md5(string_agg(row_hash, ',' ORDER BY dossier_code)) FROM core.dossier") == before
    reasons = [r for _, r in quarantined(engine, "dossier").values()]
    assert len(reasons) == 10 and all("belongs to source 'one_stop_a', which loaded it first" in r for r in reasons)
    # the registry lets it: the rows change, and still belong to the first source
    allowed = run_source(make("one_stop_b", second, may_update=("one_stop_a",)), engine, full_refresh=True)
    assert allowed.totals["updated"] == 10
    assert scalar(engine, "SELECT count(*) FROM core.dossier WHERE owner_source = 'one_stop_a'") == 30
    assert scalar(engine, "SELECT count(*) FROM core.dossier WHERE source = 'one_stop_b'") == 10
    back = run_source(make("one_stop_a", first), engine, full_refresh=True)  # the owner may change its rows back
    assert back.totals["updated"] == 10 and back.totals["quarantined"] == 0
