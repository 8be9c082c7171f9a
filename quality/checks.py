"""Checks that know Vietnamese data, as registered Great Expectations expectations.

Each is a proper Expectation class with its metric, so it runs inside the suite and is
reported like any built-in. The rules themselves are plain functions (also used to explain a
failure in words that name the bad value), so a rule is written once:

- the formats a schema field may declare (``format:``: cccd, vn_tax_code, name, ...) live one
  per file in ``quality/formats/``; their expectation classes are made here from the registry;
- an administrative unit code valid at the record's own date, read against ``ref.admin_unit``.
"""
from __future__ import annotations

import types
from functools import cache
from typing import ClassVar, Literal

import numpy as np
import pandas as pd

import quality  # noqa: F401
from common.vietnam import TIMEZONE
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import (ColumnMapExpectation, ColumnPairMapExpectation,
                                                         MulticolumnMapExpectation)
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider, ColumnPairMapMetricProvider, MulticolumnMapMetricProvider,
    column_condition_partial, column_pair_condition_partial, multicolumn_condition_partial)

from quality import catalogs
from quality.formats import formats
from quality.formats.cccd import cccd_problem  # noqa: F401  (the rules, importable where they were)
from quality.formats.name import normalized_text_problem  # noqa: F401
from quality.formats.vn_tax_code import tax_code_problem  # noqa: F401


def admin_units_valid(codes: pd.Series, dates: pd.Series) -> pd.Series:
    """True where the code named a unit on the row's date (vectorised against the catalogue)."""
    units = catalogs.current().admin_units
    day = pd.to_datetime(dates, utc=True).dt.tz_convert(TIMEZONE).dt.tz_localize(None).dt.normalize() \
        if getattr(dates.dtype, "tz", None) is not None else pd.to_datetime(dates).dt.normalize()
    rows = pd.DataFrame({"code": codes.astype("object"), "day": day, "row": np.arange(len(codes))})
    hits = rows.merge(units[["code", "valid_from", "valid_to"]], on="code", how="inner")
    ok = (hits.valid_from.isna() | (hits.valid_from <= hits.day)) & (hits.valid_to.isna() | (hits.day <= hits.valid_to))
    valid = np.zeros(len(codes), dtype=bool)
    valid[hits.loc[ok, "row"].to_numpy()] = True
    return pd.Series(valid, index=codes.index)


def admin_unit_lists_valid(lists: pd.Series, dates: pd.Series) -> pd.Series:
    """True where every code of the ';'-separated list named a unit on the row's date (and none is empty)."""
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

def _camel(rule: str) -> str:
    return "".join(p.capitalize() for p in rule.split("_"))


@cache
def format_expectation(name: str) -> type:
    """The expectation a registered format runs as, made once per format from its registration.

    A format reading one field is a column map expectation; one reading related fields too (a
    citizen ID with the date of birth and sex) a multicolumn one, given the columns in order.
    """
    fmt = formats()[name]
    rule = fmt.problem
    if fmt.related:
        def condition(cls, column_list, **kwargs):
            columns = [column_list[c] for c in column_list.columns]
            return pd.Series([rule(*values) is None for values in zip(*columns)], index=column_list.index, dtype=bool)

        metric, base, partial = f"multicolumn_values.{fmt.rule}", MulticolumnMapMetricProvider, multicolumn_condition_partial
        expectation_base = MulticolumnMapExpectation
        annotations = {"map_metric": ClassVar[str],
                       "ignore_row_if": Literal["all_values_are_missing", "any_value_is_missing", "never"]}
        body = {"ignore_row_if": "all_values_are_missing", "success_keys": ("mostly", "ignore_row_if")}
        domain = {"condition_domain_keys": ("batch_id", "table", "column_list", "row_condition", "condition_parser",
                                            "ignore_row_if")}
    else:
        def condition(cls, column, **kwargs):
            return column.map(lambda v: rule(v) is None).astype(bool)

        metric, base, partial = f"column_values.{fmt.rule}", ColumnMapMetricProvider, column_condition_partial
        expectation_base = ColumnMapExpectation
        annotations, body, domain = {"map_metric": ClassVar[str]}, {"success_keys": ("mostly",)}, {}
    type(f"Metric{_camel(fmt.rule)}", (base,), {
        "condition_metric_name": metric, **domain, "_pandas": partial(engine=PandasExecutionEngine)(condition)})
    return types.new_class(fmt.expectation_class, (expectation_base,), exec_body=lambda ns: ns.update({
        "__annotations__": annotations, "__module__": __name__, "map_metric": metric,
        "__doc__": (rule.__doc__ or fmt.name), **body}))


for _name in formats():  # registered in Great Expectations on import, as a class statement would be
    format_expectation(_name)


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
    """Plain words for each failing row, from the same rule that failed it (a format's name, or
    ``admin_unit_at_date``)."""
    if name == "admin_unit_at_date":
        return [admin_unit_problem(c, d) for c, d in zip(frame[kwargs["column_A"]].loc[rows],
                                                         frame[kwargs["column_B"]].loc[rows])]
    if name == "admin_unit_list_at_date":
        return [f"{kwargs['column_A']}: {admin_unit_list_problem(c, d)}"
                for c, d in zip(frame[kwargs["column_A"]].loc[rows], frame[kwargs["column_B"]].loc[rows])]
    fmt = formats()[name]
    columns = list(kwargs["column_list"]) if fmt.related else [kwargs["column"]]
    values = [frame[c].loc[rows].tolist() for c in columns]
    return [fmt.describe(columns[0], *t) for t in zip(*values)]
