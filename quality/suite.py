"""The expectation suite of a schema, derived from its file and nothing else.

Each expectation carries in its ``meta`` the check's short name and how to say why a row
failed (a template, or the name of a domain rule in quality.checks), so a failing row reaches
quarantine with words a person can read ("status 'done' is not one of ...") rather than an
expectation's class name alone. Code lists come from the ``ref`` tables, through the
catalogues loaded for the run.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

import great_expectations as gx
import great_expectations.expectations as gxe

from quality import catalogs, checks
from quality.context import gx_context
from quality.formats import formats
from common.errors import HubError
from common.vietnam import VIETNAM
from schemas import Schema


class SuiteError(HubError, ValueError):
    """The suite can't be built (a code list the schema names is not in ref.code_list)."""


def _meta(check: str, reason: str | None = None, explain: str | None = None) -> dict:
    return {"check": check, "reason": reason, "explain": explain}


def expectations(schema: Schema, *, now: datetime | None = None, cats: catalogs.Catalogs | None = None):
    """Yield the schema's expectations; one place decides which check a field key means."""
    now = now or datetime.now(timezone.utc)
    cats = cats or catalogs.current()
    for f in schema.fields:
        col = f.name
        if f.required:
            yield gxe.ExpectColumnValuesToNotBeNull(column=col, meta=_meta(f"not_null:{col}", f"{col} is missing"))
        if f.max_length:
            yield gxe.ExpectColumnValueLengthsToBeBetween(
                column=col, max_value=f.max_length,
                meta=_meta(f"max_length:{col}", f"{col} {{value!r}} is longer than {f.max_length} characters"))
        if f.pattern:
            yield gxe.ExpectColumnValuesToMatchRegex(
                column=col, regex=f.pattern, meta=_meta(f"pattern:{col}", f"{col} {{value!r}} is not a well-formed {col}"))
        if f.code_list:
            codes = cats.code_lists.get(f.code_list)
            if not codes:
                raise SuiteError(f"code list {f.code_list!r} (schema {schema.name}, field {col}) is not in "
                                 "ref.code_list: run `hub refdata sync`")
            shown = ", ".join(codes) if len(codes) <= 12 else ", ".join(codes[:12]) + ", ..."
            yield gxe.ExpectColumnValuesToBeInSet(
                column=col, value_set=codes,
                meta=_meta(f"code_list:{col}", f"{col} {{value!r}} is not in code list {f.code_list} ({shown})"))
        if f.not_in_future:  # a date field holds days: its bound is today in Việt Nam, not an instant
            yield gxe.ExpectColumnValuesToBeBetween(
                column=col, max_value=now.astimezone(VIETNAM).date() if f.type == "date" else now,
                meta=_meta(f"not_in_future:{col}", f"{col} {{value}} is in the future"))
        if f.not_before:
            yield gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=col, column_B=f.not_before, or_equal=True, ignore_row_if="either_value_is_missing",
                meta=_meta(f"not_before:{col}", f"{col} {{value}} is before {f.not_before} {{other}}"))
        if f.admin_unit_at:
            yield checks.ExpectColumnPairValuesToBeAdminUnitValidAtDate(
                column_A=col, column_B=f.admin_unit_at, ignore_row_if="either_value_is_missing",
                meta=_meta(f"admin_unit_at_date:{col}", explain="admin_unit_at_date"))
        if f.admin_unit_list_at:
            yield checks.ExpectColumnPairValuesToBeAdminUnitListValidAtDate(
                column_A=col, column_B=f.admin_unit_list_at, ignore_row_if="either_value_is_missing",
                meta=_meta(f"admin_unit_list_at_date:{col}", explain="admin_unit_list_at_date"))
        if f.format:
            fmt = formats()[f.format]  # a format reading related fields gets them, in its order
            where = {"column_list": fmt.columns(f), "ignore_row_if": "all_values_are_missing"} if fmt.related \
                else {"column": col}
            yield checks.format_expectation(fmt.name)(**where, meta=_meta(f"{fmt.check}:{col}", explain=fmt.name))


SUITE_MAX_AGE = 60.0
"""Seconds a suite is reused for (its ``not_in_future`` checks compare with the time it was built,
as every batch of a run lasting that long already does)."""
_built: dict[tuple, tuple[float, gx.ExpectationSuite]] = {}


def suite_for(schema: Schema, cats: catalogs.Catalogs) -> gx.ExpectationSuite:
    """The schema's suite for these catalogues, built once a minute at most rather than per run:
    building one costs about 0.1 s, and a province runs hundreds of small sources."""
    if cats.version is None:  # catalogues of unknown origin: nothing to recognise them by
        return build_suite(schema, cats=cats)
    key = (schema, cats.version)
    made, suite = _built.get(key, (0.0, None))
    if suite is None or time.monotonic() - made > SUITE_MAX_AGE:
        if len(_built) > 64:
            _built.clear()
        suite = build_suite(schema, cats=cats)
        _built[key] = (time.monotonic(), suite)
    return suite


def build_suite(schema: Schema, *, now: datetime | None = None,
                cats: catalogs.Catalogs | None = None) -> gx.ExpectationSuite:
    gx_context()  # a suite needs a live context before expectations are added
    suite = gx.ExpectationSuite(name=f"{schema.name}@{schema.version}")
    for expectation in expectations(schema, now=now, cats=cats):
        suite.add_expectation(expectation)
    return suite
