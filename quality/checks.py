"""Checks that know Vietnamese identifiers, as registered Great Expectations expectations.

Each is a proper Expectation class with its metric, so it runs inside the suite and is
reported like any built-in. The rules themselves are plain vectorised functions (also used
to explain a failure in words that name the bad value), so a rule is written once.

- CCCD (căn cước công dân): 12 digits; digits 1-3 the province of birth registration; digit
  4 the sex and century of birth; digits 5-6 the last two digits of the birth year.
- Tax code (mã số thuế): 10 digits with the check digit of python-stdnum's ``stdnum.vn.mst``,
  or a branch as 10 digits + '-' + 3 digits.
- Administrative unit code valid at the record's own date, read against ``ref.admin_unit``.
- Text stored trimmed and in Unicode NFC.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
from stdnum.vn import mst

import quality  # noqa: F401
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import (ColumnMapExpectation, ColumnPairMapExpectation,
                                                         MulticolumnMapExpectation)
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider, ColumnPairMapMetricProvider, MulticolumnMapMetricProvider,
    column_condition_partial, column_pair_condition_partial, multicolumn_condition_partial)

from quality import catalogs

# Province codes of birth registration in a CCCD: the 63 provinces before the 2025 reform
# (Thông tư 59/2021/TT-BCA, Phụ lục I), written with a leading 0.
CCCD_PROVINCES = frozenset("0" + c for c in (
    "01 02 04 06 08 10 11 12 14 15 17 19 20 22 24 25 26 27 30 31 33 34 35 36 37 38 40 42 44 45 46 48 "
    "49 51 52 54 56 58 60 62 64 66 67 68 70 72 74 75 77 79 80 82 83 84 86 87 89 91 92 93 94 95 96").split())
# Digit 4: (sex, first year of the century). 0/1 = 20th century, 2/3 = 21st, ... male first.
CENTURY = {0: ("male", 1900), 1: ("female", 1900), 2: ("male", 2000), 3: ("female", 2000),
           4: ("male", 2100), 5: ("female", 2100), 6: ("male", 2200), 7: ("female", 2200),
           8: ("male", 1800), 9: ("female", 1800)}
TWELVE_DIGITS = re.compile(r"^\d{12}$")
TAX_CODE = re.compile(r"^\d{10}(-\d{3})?$")


def cccd_problem(value: object, birth: object = None, sex: object = None) -> str | None:
    """Why a citizen ID is wrong (naming the value), or None when it is right."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    v = str(value)
    if not TWELVE_DIGITS.match(v):
        return f"citizen ID {v!r} is not 12 digits"
    if v[:3] not in CCCD_PROVINCES:
        return f"citizen ID {v!r} starts with {v[:3]}, which is not a province code of birth registration"
    code_sex, century = CENTURY[int(v[3])]
    if sex is not None and not pd.isna(sex) and str(sex) != code_sex:
        return f"citizen ID {v!r}: digit 4 ({v[3]}) means {code_sex}, but sex is {sex}"
    if birth is not None and not pd.isna(birth):
        year = pd.Timestamp(birth).year
        if not century <= year < century + 100:
            return (f"citizen ID {v!r}: digit 4 ({v[3]}) means born {century}-{century + 99}, "
                    f"but the date of birth is in {year}")
        if v[4:6] != f"{year % 100:02d}":
            return f"citizen ID {v!r}: digits 5-6 ({v[4:6]}) should be the birth year's last two digits ({year % 100:02d})"
    return None


def tax_code_problem(value: object) -> str | None:
    if value is None or pd.isna(value):
        return None
    v = str(value)
    if not TAX_CODE.match(v):
        return f"tax code {v!r} is neither 10 digits nor 10 digits + '-' + 3 digits"
    if not mst.is_valid(v):
        return f"tax code {v!r} has a wrong check digit (10th digit)"
    return None


def normalized_text_problem(value: object) -> str | None:
    if value is None or pd.isna(value):
        return None
    v = str(value)
    if v != v.strip():
        return f"{v!r} has leading or trailing spaces"
    if not unicodedata.is_normalized("NFC", v):
        return f"{v!r} is not in Unicode NFC"
    return None


def admin_units_valid(codes: pd.Series, dates: pd.Series) -> pd.Series:
    """True where the code named a unit on the row's date (vectorised against the catalogue)."""
    units = catalogs.current().admin_units
    day = pd.to_datetime(dates, utc=True).dt.tz_convert("Asia/Ho_Chi_Minh").dt.tz_localize(None).dt.normalize() \
        if getattr(dates.dtype, "tz", None) is not None else pd.to_datetime(dates).dt.normalize()
    rows = pd.DataFrame({"code": codes.astype("object"), "day": day, "row": np.arange(len(codes))})
    hits = rows.merge(units[["code", "valid_from", "valid_to"]], on="code", how="inner")
    ok = (hits.valid_from.isna() | (hits.valid_from <= hits.day)) & (hits.valid_to.isna() | (hits.day <= hits.valid_to))
    valid = np.zeros(len(codes), dtype=bool)
    valid[hits.loc[ok, "row"].to_numpy()] = True
    return pd.Series(valid, index=codes.index)


def admin_unit_lists_valid(lists: pd.Series, dates: pd.Series) -> pd.Series:
    """True where every code of the ';'-separated list named a unit on the row's date (and the list has one)."""
    codes = lists.astype("object").map(lambda v: [c.strip() for c in str(v).split(";")])
    exploded = pd.DataFrame({"codes": codes, "day": dates}).explode("codes")
    named = exploded["codes"].notna() & (exploded["codes"] != "")
    valid = admin_units_valid(exploded["codes"].reset_index(drop=True), exploded["day"].reset_index(drop=True))
    valid = pd.Series(valid.to_numpy() & named.to_numpy(), index=exploded.index)
    return valid.groupby(level=0).all().reindex(lists.index, fill_value=True).astype(bool)


def admin_unit_list_problem(value: object, on: object) -> str:
    codes = [c.strip() for c in str(value).split(";")]
    if any(not c for c in codes):
        return f"unit list {value!r} has an empty entry"
    bad = [c for c, ok in zip(codes, admin_units_valid(pd.Series(codes), pd.Series([on] * len(codes)))) if not ok]
    return "; ".join(admin_unit_problem(c, on) for c in bad) or f"unit list {value!r} is not valid"


def admin_unit_problem(code: object, on: object) -> str:
    units = catalogs.current().admin_units
    day = pd.Timestamp(on).date()
    known = units[units.code == str(code)]
    if known.empty:
        return f"administrative unit code {code!r} is not a code of any unit"
    described = "; ".join(
        f"{r.name} ({r.level}, {'valid from ' + str(r.valid_from.date()) if pd.notna(r.valid_from) else 'valid'}"
        f"{' to ' + str(r.valid_to.date()) if pd.notna(r.valid_to) else ''})" for r in known.itertuples())
    successor = catalogs.current().successor.get(str(code))
    if successor is None and (known.level == "district").any():
        province = known.loc[known.level == "district", "province_code"].iloc[0]
        successor = catalogs.current().successor.get(province)
        if successor:
            successor = f"province {successor} (districts were abolished on 2025-07-01)"
    hint = f"; its successor is {successor}" if successor else ""
    return f"administrative unit code {code!r} is not valid on {day}: it names {described}{hint}"


# --- metrics and expectations ------------------------------------------------------------

def _mask(problem: Callable[[object], str | None], column: pd.Series) -> pd.Series:
    return column.map(lambda v: problem(v) is None).astype(bool)


class ColumnValuesValidVnTaxCode(ColumnMapMetricProvider):
    condition_metric_name = "column_values.valid_vn_tax_code"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        return _mask(tax_code_problem, column)


class ExpectColumnValuesToBeValidVnTaxCode(ColumnMapExpectation):
    """Mã số thuế: 10 digits with a valid check digit, or 10 + '-' + 3 for a branch."""

    map_metric: ClassVar[str] = "column_values.valid_vn_tax_code"
    success_keys = ("mostly",)


class ColumnValuesNormalizedText(ColumnMapMetricProvider):
    condition_metric_name = "column_values.normalized_text"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        return _mask(normalized_text_problem, column)


class ExpectColumnValuesToBeNormalizedText(ColumnMapExpectation):
    """Names in NFC and trimmed: the same name typed in NFD is the same person."""

    map_metric: ClassVar[str] = "column_values.normalized_text"
    success_keys = ("mostly",)


class MulticolumnValidCccd(MulticolumnMapMetricProvider):
    condition_metric_name = "multicolumn_values.valid_cccd"
    condition_domain_keys = ("batch_id", "table", "column_list", "row_condition", "condition_parser",
                             "ignore_row_if")

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list, **kwargs):
        cols = list(column_list.columns)
        ids = column_list[cols[0]]
        births = column_list[cols[1]] if len(cols) > 1 else pd.Series(None, index=ids.index)
        sexes = column_list[cols[2]] if len(cols) > 2 else pd.Series(None, index=ids.index)
        return pd.Series([cccd_problem(i, b, s) is None for i, b, s in zip(ids, births, sexes)],
                         index=ids.index, dtype=bool)


class ExpectMulticolumnValuesToBeValidCccd(MulticolumnMapExpectation):
    """CCCD in column_list[0], checked against date of birth [1] and sex [2] when given."""

    ignore_row_if: Literal["all_values_are_missing", "any_value_is_missing", "never"] = "all_values_are_missing"
    map_metric: ClassVar[str] = "multicolumn_values.valid_cccd"
    success_keys = ("mostly", "ignore_row_if")


class ColumnPairAdminUnitValidAtDate(ColumnPairMapMetricProvider):
    condition_metric_name = "column_pair_values.admin_unit_valid_at_date"
    condition_domain_keys = ("batch_id", "table", "column_A", "column_B", "row_condition",
                             "condition_parser", "ignore_row_if")

    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_A, column_B, **kwargs):
        return admin_units_valid(column_A, column_B)


class ExpectColumnPairValuesToBeAdminUnitValidAtDate(ColumnPairMapExpectation):
    """column_A holds an administrative unit code that named a unit on column_B's date."""

    ignore_row_if: Literal["both_values_are_missing", "either_value_is_missing", "neither"] = "either_value_is_missing"
    map_metric: ClassVar[str] = "column_pair_values.admin_unit_valid_at_date"
    success_keys = ("ignore_row_if", "mostly")


class ColumnPairAdminUnitListValidAtDate(ColumnPairMapMetricProvider):
    condition_metric_name = "column_pair_values.admin_unit_list_valid_at_date"
    condition_domain_keys = ("batch_id", "table", "column_A", "column_B", "row_condition",
                             "condition_parser", "ignore_row_if")

    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_A, column_B, **kwargs):
        return admin_unit_lists_valid(column_A, column_B)


class ExpectColumnPairValuesToBeAdminUnitListValidAtDate(ColumnPairMapExpectation):
    """column_A holds unit codes separated by ';', each naming a unit on column_B's date."""

    ignore_row_if: Literal["both_values_are_missing", "either_value_is_missing", "neither"] = "either_value_is_missing"
    map_metric: ClassVar[str] = "column_pair_values.admin_unit_list_valid_at_date"
    success_keys = ("ignore_row_if", "mostly")


# --- reasons -----------------------------------------------------------------------------

def explain(name: str, frame: pd.DataFrame, rows: np.ndarray, kwargs: dict) -> list[str]:
    """Plain words for each failing row, from the same rule that failed it."""
    if name == "cccd":
        columns = (list(kwargs["column_list"]) + [None, None])[:3]
        values = [frame[c].loc[rows].tolist() if c else [None] * len(rows) for c in columns]
        return [cccd_problem(*t) or "citizen ID is invalid" for t in zip(*values)]
    if name == "tax_code":
        return [tax_code_problem(v) or "tax code is invalid" for v in frame[kwargs["column"]].loc[rows]]
    if name == "normalized_text":
        return [f"{kwargs['column']} {normalized_text_problem(v)}" for v in frame[kwargs["column"]].loc[rows]]
    if name == "admin_unit_at_date":
        return [admin_unit_problem(c, d) for c, d in zip(frame[kwargs["column_A"]].loc[rows],
                                                         frame[kwargs["column_B"]].loc[rows])]
    if name == "admin_unit_list_at_date":
        return [f"{kwargs['column_A']}: {admin_unit_list_problem(c, d)}"
                for c, d in zip(frame[kwargs["column_A"]].loc[rows], frame[kwargs["column_B"]].loc[rows])]
    raise KeyError(name)
