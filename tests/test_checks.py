"""Domain checks with values that must pass and values that must fail, run inside Great Expectations."""
from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pytest

from quality import catalogs
from quality.checks import admin_units_valid, cccd_problem, tax_code_problem
from quality.suite import build_suite
from quality.validate import validate
from schemas import get_schema
from schemas.pii import masked

# Tax codes verified by hand with the check-digit rule (weights 31 29 23 19 17 13 7 5 3;
# check = 10 - sum mod 11): 0100109106: 0+29+0+0+17+0+63+5+0 = 114, 114 mod 11 = 4, 10-4 = 6.
# 0100233488: 29+34+39+21+20+24 = 167, mod 11 = 2, check 8. 0314409058: 87+23+76+68+63+15 = 332,
# mod 11 = 2, check 8.
GOOD_TAX = ["0100109106", "0100233488", "0314409058", "0314409058-002", "0100109106-001"]
BAD_TAX = {"0100233480": "wrong check digit", "0100109107": "wrong check digit",
           "010023348": "neither 10 digits", "0100233488-01": "neither 10 digits",
           "0100233488001": "neither 10 digits", "01002334AB": "neither 10 digits",
           "0314409059-002": "wrong check digit"}


@pytest.mark.parametrize("code", GOOD_TAX)
def test_valid_tax_codes(code):
    assert tax_code_problem(code) is None


@pytest.mark.parametrize("code, words", sorted(BAD_TAX.items()))
def test_invalid_tax_codes_are_named(code, words):
    assert words in tax_code_problem(code) and repr(code) in tax_code_problem(code)


# CCCD built by hand: 001 Hà Nội, 0 = male born 1900-1999, 85 = 1985; 024 Bắc Giang, 3 = female
# born 2000-2099, 01 = 2001; 079 Hồ Chí Minh, 1 = female 1900s, 99 = 1999.
GOOD_CCCD = [("001085123456", "1985-03-10", "male"), ("024301004567", "2001-07-02", "female"),
             ("079199000001", "1999-12-31", "female"), ("096200000123", "2000-01-01", "male")]
BAD_CCCD = [
    ("00108512345", "1985-03-10", "male", "is not 12 digits"),
    ("00108512345A", "1985-03-10", "male", "is not 12 digits"),
    ("003085123456", "1985-03-10", "male", "starts with 003, which is not a province code"),
    ("000085123456", "1985-03-10", "male", "starts with 000"),
    ("001185123456", "1985-03-10", "male", "digit 4 (1) means female, but sex is male"),
    ("001285123456", "1985-03-10", "male", "digit 4 (2) means born 2000-2099, but the date of birth is in 1985"),
    ("001086123456", "1985-03-10", "male", "digits 5-6 (86) should be the birth year's last two digits (85)"),
]


@pytest.mark.parametrize("cccd, birth, sex", GOOD_CCCD)
def test_valid_citizen_ids(cccd, birth, sex):
    assert cccd_problem(cccd, pd.Timestamp(birth), sex) is None


@pytest.mark.parametrize("cccd, birth, sex, words", BAD_CCCD)
def test_invalid_citizen_ids_say_why(cccd, birth, sex, words):
    problem = cccd_problem(cccd, pd.Timestamp(birth), sex)
    shown = masked(pd.Series([cccd]))[0]  # a reason is kept and shown: it quotes the ID masked
    assert problem is not None and words in problem and repr(shown) in problem and cccd not in problem


@pytest.fixture
def loaded_catalogs(engine):
    catalogs.use(catalogs.load(engine))
    yield catalogs.current()
    catalogs.use(catalogs.Catalogs())


def test_admin_unit_codes_are_read_at_the_rows_date(loaded_catalogs):
    codes = pd.Series(["213", "213", "07201", "07201", "07210", "07210", "99999", "24"])
    dates = pd.Series(pd.to_datetime(["2025-06-30 23:00", "2025-07-01 08:00", "2024-05-01 00:00", "2025-08-01 00:00",
                                      "2024-05-01 00:00", "2025-08-01 00:00", "2024-05-01 00:00", "2025-08-01 00:00"])
                      ).dt.tz_localize("Asia/Ho_Chi_Minh")
    assert admin_units_valid(codes, dates).tolist() == [True, False, True, False, True, True, False, True]


def _beneficiaries(**overrides) -> pd.DataFrame:
    rows = {"citizen_id": [c for c, _, _ in GOOD_CCCD], "full_name": ["Nguyễn Văn An"] * 4,
            "birth_date": [pd.Timestamp(b).date() for _, b, _ in GOOD_CCCD], "sex": [s for _, _, s in GOOD_CCCD],
            "commune_code": ["07210"] * 4, "benefit_type": ["elderly_80"] * 4,
            "monthly_amount": [500000.0] * 4, "start_date": [pd.Timestamp("2025-08-01").date()] * 4,
            "end_date": [None] * 4, "list_month": [pd.Timestamp("2025-09-01").date()] * 4,
            "list_level": ["commune"] * 4}
    rows.update(overrides)
    frame = pd.DataFrame(rows)
    for col in ("birth_date", "start_date", "end_date", "list_month"):  # Python dates, as the mapping hands them over
        frame[col] = pd.Series([None if pd.isna(d) else pd.Timestamp(d).date() for d in frame[col]],
                               index=frame.index, dtype=object)
    return frame


def test_domain_checks_run_inside_great_expectations(loaded_catalogs):
    suite = build_suite(get_schema("social_beneficiary"), now=datetime(2026, 1, 1, tzinfo=timezone.utc))
    types = {e.expectation_type for e in suite.expectations}
    assert {"expect_multicolumn_values_to_be_valid_cccd",
            "expect_column_pair_values_to_be_admin_unit_valid_at_date",
            "expect_column_values_to_be_normalized_text"} <= types
    good = validate(_beneficiaries(), suite)
    assert good.failures == [] and good.statistics["unsuccessful_expectations"] == 0
    bad = validate(_beneficiaries(
        citizen_id=["001185123456", "024301004567", "079199000001", "003085123456"],
        commune_code=["07210", "07201", "07210", "07210"],  # 07201 (Thọ Xương) ended on 2025-06-30
        full_name=["Nguyễn Văn An", "Nguyễn Văn An ", "Nguyễn Văn An", "Nguyễn Văn An"]), suite)
    by_check = {f.check: (f.rows.tolist(), f.reason(f.rows)) for f in bad.failures}
    assert by_check["cccd:citizen_id"][0] == [0, 3]
    assert "digit 4 (1) means female, but sex is male" in by_check["cccd:citizen_id"][1][0]
    assert by_check["admin_unit_at_date:commune_code"][0] == [1]
    assert by_check["admin_unit_at_date:commune_code"][1] == [
        "administrative unit code '07201' is not valid on 2025-09-01: it names Phường Thọ Xương "
        "(commune, valid to 2025-06-30); its successor is 07210 Phường Bắc Giang"]
    assert by_check["normalized_text:full_name"][0] == [1]
    assert "has leading or trailing spaces" in by_check["normalized_text:full_name"][1][0]
    assert bad.statistics["failed_checks"] == {"cccd:citizen_id": 2, "admin_unit_at_date:commune_code": 1,
                                               "normalized_text:full_name": 1}


def test_a_legacy_district_after_the_reform_names_its_successor(loaded_catalogs):
    suite = build_suite(get_schema("dossier"))
    frame = pd.DataFrame({"dossier_code": ["A1"], "procedure_code": ["1.0"], "receiving_agency": ["x"],
                          "admin_unit_code": ["213"],
                          "received_at": pd.to_datetime(["2025-08-01 09:00"]).tz_localize("Asia/Ho_Chi_Minh"),
                          "due_at": pd.to_datetime([None]).tz_localize("Asia/Ho_Chi_Minh"),
                          "completed_at": pd.to_datetime([None]).tz_localize("Asia/Ho_Chi_Minh"),
                          "status": ["received"], "channel": ["online"]})
    (failure,) = validate(frame, suite).failures
    assert failure.check == "admin_unit_at_date:admin_unit_code"
    assert failure.reason(failure.rows) == [
        "administrative unit code '213' is not valid on 2025-08-01: it names Thành phố Bắc Giang "
        "(district, valid to 2025-06-30); its successor is province 24 Tỉnh Bắc Ninh "
        "(districts were abolished on 2025-07-01)"]


def test_code_lists_come_from_the_ref_tables(engine, loaded_catalogs):
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM ref.code_list WHERE list_name = 'dossier_channel' AND code = 'offline'")
    catalogs.use(catalogs.load(engine))
    suite = build_suite(get_schema("dossier"))
    in_set = [e for e in suite.expectations if e.meta["check"] == "code_list:channel"]
    assert in_set[0].value_set == ["online"]


@pytest.mark.parametrize("typed", ["001 099 012 345", "001.099.012.345", "001-099-012345", "001099012345"])
def test_a_citizen_id_quoted_in_a_reason_is_masked_however_it_was_typed(typed):
    from schemas.pii import scrub

    reason = scrub(f"citizen ID {typed!r} is not 12 digits; monthly amount 540000 on 01/07/2025 at unit 07642")
    assert "012" not in reason.replace("07642", "") and "345" not in reason
    assert "540000" in reason and "01/07/2025" in reason and "07642" in reason  # short numbers stay readable


def _outcome(validation) -> tuple:
    return ([(f.check, f.rows.tolist(), f.reason(f.rows)) for f in validation.failures], validation.statistics)


def test_the_suite_evaluated_directly_fails_what_great_expectations_fails(loaded_catalogs, monkeypatch):
    """quality.direct runs the suite's expectations without Great Expectations' machinery: the same
    failing rows, reasons and statistics as Great Expectations itself, on every kind of check."""
    from pipeline.config import REPO_ROOT, load_sources
    from pipeline.check import make_adapter
    from quality import direct
    from schemas.mapping import map_records

    source = load_sources(REPO_ROOT / "sources.yaml")["bacgiang_dossiers_export"]
    (batch,) = make_adapter(source).batches(None)
    schema = get_schema("dossier")
    mapped = map_records(batch.records, schema=schema, fields=source.fields, values=source.values,
                         date_formats=source.date_formats, timezone=source.timezone)
    dossiers = mapped.frame.drop(index=mapped.failed_rows())
    beneficiaries = _beneficiaries(
        citizen_id=["001185123456", "024301004567", None, "003085123456"],
        commune_code=["07210", "07201", "07210", None],
        full_name=["Nguyễn Văn An", "Nguyễn Văn An ", None, "Nguyễn Văn An"])
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    cases = [(dossiers, build_suite(schema)), (beneficiaries, build_suite(get_schema("social_beneficiary"), now=now))]
    for frame, suite in cases:
        assert direct.supports(suite)
        monkeypatch.setenv("HUB_VALIDATION_ENGINE", "gx")
        by_gx = _outcome(validate(frame, suite))
        monkeypatch.setenv("HUB_VALIDATION_ENGINE", "direct")
        assert _outcome(validate(frame, suite)) == by_gx
        assert by_gx[0]  # each frame fails some checks, so the comparison says something


def test_unit_lists_evaluated_directly_fail_what_great_expectations_fails(loaded_catalogs, monkeypatch):
    """The meetings' ';'-separated unit lists (``admin_unit_list_at``) are evaluated directly too,
    with the same failing rows, reasons and statistics as Great Expectations."""
    from quality import direct

    started = pd.Series(pd.to_datetime(["2024-05-01 09:00", "2025-08-01 09:00", "2025-08-01 09:00",
                                        "2024-05-01 09:00", "2025-08-01 09:00"])).dt.tz_localize("Asia/Ho_Chi_Minh")
    frame = pd.DataFrame({
        "meeting_id": ["m1", "m2", "m3", "m4", "m5"], "title": ["Họp"] * 5, "host_unit_code": ["24"] * 5,
        "started_at": started, "ended_at": started + pd.Timedelta(hours=1),
        "invited_units": ["07210;07201", "07210; 07201", "07210;;24", "99999", "24"],
        "connected_units": ["07210", None, "07201", "07210;99999", "24"],
        "export_date": [pd.Timestamp("2025-08-02").date()] * 5})
    suite = build_suite(get_schema("online_meeting"), now=datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert direct.supports(suite)
    monkeypatch.setenv("HUB_VALIDATION_ENGINE", "gx")
    by_gx = _outcome(validate(frame, suite))
    monkeypatch.setenv("HUB_VALIDATION_ENGINE", "direct")
    assert _outcome(validate(frame, suite)) == by_gx
    assert {check for check, _, _ in by_gx[0]} >= {"admin_unit_list_at_date:invited_units",
                                                     "admin_unit_list_at_date:connected_units"}


def test_a_check_that_cannot_run_refuses_the_batch_in_both_engines(monkeypatch):
    """Great Expectations' between-metric raises on Python dates against a datetime bound and reports
    the expectation failed with no rows, which once read as "nothing to quarantine" (a date field's
    ``not_in_future`` let 2999-01-01 load). Both engines now refuse the batch, naming the check."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    from quality.context import gx_context
    from quality.direct import CheckError

    gx_context()
    suite = gx.ExpectationSuite(name="dates")
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="day", max_value=datetime(2026, 1, 1, tzinfo=timezone.utc),
        meta={"check": "not_in_future:day", "reason": "day {value} is in the future", "explain": None}))
    frame = pd.DataFrame({"day": [pd.Timestamp("2020-01-01").date(), pd.Timestamp("2099-01-01").date(), None]})
    for engine in ("gx", "direct"):
        monkeypatch.setenv("HUB_VALIDATION_ENGINE", engine)
        with pytest.raises(CheckError, match=r"^check not_in_future:day could not run: .*date"):
            validate(frame, suite)


def test_a_date_field_is_not_in_future_by_the_day_in_viet_nam(loaded_catalogs, monkeypatch):
    """A date field's ``not_in_future`` bound is today's date in Việt Nam: at 01:00 on 1 January
    there (18:00 UTC the day before), a record dated 1 January is not in the future, 2 January is."""
    now = datetime(2025, 12, 31, 18, 0, tzinfo=timezone.utc)
    suite = build_suite(get_schema("social_beneficiary"), now=now)
    days = [pd.Timestamp(d).date() for d in ("2025-09-01", "2026-01-01", "2026-01-02", "2999-01-01")]
    frame = _beneficiaries(list_month=days)
    outcomes = []
    for engine in ("gx", "direct"):
        monkeypatch.setenv("HUB_VALIDATION_ENGINE", engine)
        outcomes.append(_outcome(validate(frame, suite)))
        failed = {f.check: f.rows.tolist() for f in validate(frame, suite).failures}
        assert failed["not_in_future:list_month"] == [2, 3], engine
    assert outcomes[0] == outcomes[1]
