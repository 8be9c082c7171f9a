"""The map stage on its own: text normalisation, Vietnamese dates, value translation."""
from __future__ import annotations

import unicodedata

import pandas as pd
import pytest

from schemas import SchemaError, get_schema, load_schema_file
from schemas.mapping import MappingError, map_records

SCHEMA = get_schema("dossier")


def mapped(**columns):
    n = len(next(iter(columns.values())))
    base = {"dossier_code": [f"A{i}" for i in range(n)], "procedure_code": ["1.0"] * n, "receiving_agency": ["x"] * n,
            "admin_unit_code": ["24"] * n, "received_at": ["01/02/2024"] * n, "status": ["received"] * n,
            "channel": ["online"] * n}
    frame = pd.DataFrame({**base, **columns}, dtype=object)
    return map_records(frame, schema=SCHEMA, fields={}, values={"status": {"Đã tiếp nhận": "received"}},
                       date_formats=("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%Y-%m-%d"),
                       timezone="Asia/Ho_Chi_Minh")


def test_dates_are_read_day_first_in_vietnam_time():
    m = mapped(received_at=["01/02/2024", "01/02/2024 08:30", "2024-02-01", "31/12/2024 23:59:59"])
    got = m.frame["received_at"]
    assert got[0] == pd.Timestamp("2024-02-01 00:00", tz="Asia/Ho_Chi_Minh")  # 1 February, not 2 January
    assert got[1] == pd.Timestamp("2024-02-01 08:30", tz="Asia/Ho_Chi_Minh")
    assert got[2] == got[0]
    assert got[3].tz_convert("UTC") == pd.Timestamp("2024-12-31 16:59:59", tz="UTC")
    assert m.failures == []


@pytest.mark.parametrize("value", ["31/02/2024", "30/13/2024", "1/2/24x", "hôm qua"])
def test_an_impossible_date_is_a_mapping_failure_that_names_the_value(value):
    m = mapped(received_at=[value])
    (failure,) = m.failures
    assert failure.check == "parse_date:received_at"
    assert failure.reason(failure.rows) == [f"received_at {value!r} is not a valid date "
                                            "(dd/mm/yyyy HH:MM:SS or dd/mm/yyyy HH:MM or dd/mm/yyyy, ...)"]


def test_text_is_trimmed_and_nfc_and_empty_is_null():
    nfd = unicodedata.normalize("NFD", "  Bộ phận một cửa Xã Kiên Lao ")
    m = mapped(receiving_agency=[nfd, "   ", None])
    assert m.frame["receiving_agency"].tolist() == ["Bộ phận một cửa Xã Kiên Lao", None, None]
    assert unicodedata.is_normalized("NFC", m.frame["receiving_agency"][0])


def test_department_values_become_schema_codes():
    assert mapped(status=["Đã tiếp nhận", "processing"]).frame["status"].tolist() == ["received", "processing"]


def test_duplicate_keys_in_a_batch_keep_the_first():
    m = mapped(dossier_code=["A1", "A2", "A1", None, None])
    (failure,) = m.failures
    assert failure.rows.tolist() == [2]
    assert failure.reason(failure.rows) == ["duplicate: dossier_code 'A1' appears earlier in the same batch"]


def test_missing_required_column_is_refused_whole():
    frame = pd.DataFrame({"dossier_code": ["A1"]}, dtype=object)
    with pytest.raises(MappingError, match="missing required columns: procedure_code"):
        map_records(frame, schema=SCHEMA, fields={}, values={}, date_formats=("%d/%m/%Y",), timezone="UTC")


def test_a_malformed_schema_file_is_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nversion: '1'\nnatural_key: [x]\nfields:\n  - {name: y, type: money}\n")
    with pytest.raises(SchemaError, match="unknown type 'money' for y; natural key 'x' is not a field; "
                                          "version '1' is not major.minor"):
        load_schema_file(path)


def test_a_date_is_a_day_even_where_its_midnight_never_happened():
    """Clocks in Vietnam jumped from 00:00 to 01:00 on 1 July 1955: the day still exists (a
    beneficiary born that day was quarantined as 'not a valid date' by the large demo)."""
    schema = get_schema("social_beneficiary")
    frame = pd.DataFrame({"citizen_id": ["024055635942"], "full_name": ["Phạm Hữu Nam"], "birth_date": ["01/07/1955"],
                          "sex": ["male"], "commune_code": ["07642"], "benefit_type": ["elderly_poor_alone"],
                          "monthly_amount": ["540000"], "start_date": ["01/06/2023"], "list_month": ["01/09/2025"],
                          "list_level": ["province"]}, dtype=object)
    m = map_records(frame, schema=schema, fields={}, values={}, date_formats=("%d/%m/%Y",),
                    timezone="Asia/Ho_Chi_Minh")
    assert m.failures == []
    assert str(m.frame["birth_date"][0]) == "1955-07-01"


def test_fast_paths_give_what_pandas_and_python_give():
    """Arrow's shortcuts for text and for date-and-time values change speed, not results."""
    from schemas.mapping import _clean_each_distinct, _strptime, _text

    texts = [" a", "a ", "a", "", None, "\x1cb", "Bộ phận", "Bo\u0323 pha\u0302\u0323n", "x\u00a0", "\u2003y", "a\n",
             "G24.1"]
    arrow = pd.Series(texts * 100, dtype="str")
    assert _text(arrow).tolist() == _clean_each_distinct(arrow).tolist()
    odd_rows = arrow[arrow.index % 3 == 1]
    assert (_text(odd_rows).index == odd_rows.index).all()
    assert _text(odd_rows).tolist() == _clean_each_distinct(odd_rows).tolist()
    values = ["31/02/2025 09:00", "29/02/2024 23:59", "29/02/2025 10:00", "01/02/2025 9:05", "1/2/2025 09:05",
              "01/02/2025  09:05", "01/02/2025 09:05:33", "01/02/2025 24:00", "01/13/2025 10:00", "01/02/25 10:00",
              "01/02/0025 10:00", "01/02/2025", "09:05", "", None, "nan", "01/02/2025 09:05 SA", "x y"]
    column = pd.Series(values * 100, dtype=object)  # enough rows for the distinct-value path
    for fmt in ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y"):
        expected = pd.to_datetime(column, format=fmt, errors="coerce").astype("datetime64[us]")
        pd.testing.assert_series_equal(_strptime(column, fmt), expected)
