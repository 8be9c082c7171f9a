"""The expectation suite of a schema, derived from its file and nothing else.

Each expectation carries in its ``meta`` the check's short name and a reason template, so a
failing row reaches quarantine with words a person can read ("status 'done' is not one of
...") rather than an expectation's class name alone.
"""
from __future__ import annotations

from datetime import datetime, timezone

import great_expectations as gx
import great_expectations.expectations as gxe

from quality.context import gx_context
from schemas import Schema


def _meta(check: str, reason: str) -> dict:
    return {"check": check, "reason": reason}


def build_suite(schema: Schema, *, now: datetime | None = None) -> gx.ExpectationSuite:
    gx_context()  # a suite needs a live context before expectations are added
    now = now or datetime.now(timezone.utc)
    suite = gx.ExpectationSuite(name=f"{schema.name}@{schema.version}")
    for f in schema.fields:
        col = f.name
        if f.required:
            suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(
                column=col, meta=_meta(f"not_null:{col}", f"{col} is missing")))
        if f.max_length:
            suite.add_expectation(gxe.ExpectColumnValueLengthsToBeBetween(
                column=col, max_value=f.max_length,
                meta=_meta(f"max_length:{col}", f"{col} {{value!r}} is longer than {f.max_length} characters")))
        if f.pattern:
            suite.add_expectation(gxe.ExpectColumnValuesToMatchRegex(
                column=col, regex=f.pattern,
                meta=_meta(f"pattern:{col}", f"{col} {{value!r}} is not a well-formed {col}")))
        if f.allowed:
            shown = ", ".join(f.allowed)
            suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(
                column=col, value_set=list(f.allowed),
                meta=_meta(f"allowed:{col}", f"{col} {{value!r}} is not one of: {shown}")))
        if f.not_in_future:
            suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
                column=col, max_value=now,
                meta=_meta(f"not_in_future:{col}", f"{col} {{value}} is in the future")))
        if f.not_before:
            suite.add_expectation(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=col, column_B=f.not_before, or_equal=True,
                ignore_row_if="either_value_is_missing",
                meta=_meta(f"not_before:{col}", f"{col} {{value}} is before {f.not_before} {{other}}")))
    return suite
