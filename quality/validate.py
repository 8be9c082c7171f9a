"""Run a schema's suite on a mapped batch and say which rows failed which check, and why.

One pass in COMPLETE form names the failing rows (SUMMARY computes the same index lists and
only cuts them short, so a second, cheaper pass would cost more, not less). Whether the
failures hold the batch is decided in ``quarantine.hold``, with the mapping's.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import great_expectations as gx
from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult

from quality import checks
from quality.context import batch_definition
from schemas.mapping import CheckFailure


@dataclass
class Validation:
    failures: list[CheckFailure] = field(default_factory=list)
    statistics: dict = field(default_factory=dict)
    result: dict | None = None
    """Great Expectations' result as JSON, without row indexes or values (kept for Data Docs)."""


ROW_LISTS = ("unexpected_index_list", "unexpected_list", "partial_unexpected_index_list",
             "partial_unexpected_list", "partial_unexpected_counts", "unexpected_index_query")


def kept_result(result: ExpectationSuiteValidationResult) -> dict:
    """The result as Data Docs render it, minus what names rows or quotes values: the rows are in
    quarantine with their reasons, and a value may be personal data."""
    data = result.to_json_dict()
    for r in data.get("results", []):
        for key in ROW_LISTS:
            (r.get("result") or {}).pop(key, None)
    return data


def _run(frame: pd.DataFrame, suite: gx.ExpectationSuite, result_format: dict) -> ExpectationSuiteValidationResult:
    batch = batch_definition().get_batch(batch_parameters={"dataframe": frame})
    return batch.validate(suite, result_format=result_format)


def _reasons(frame: pd.DataFrame, config) -> callable:
    kwargs, template = config.kwargs, config.meta["reason"]
    if config.meta.get("explain"):
        return lambda rows: checks.explain(config.meta["explain"], frame, rows, kwargs)
    column = kwargs.get("column") or kwargs.get("column_A")
    other = kwargs.get("column_B")

    def describe(rows: np.ndarray) -> list[str]:
        values = frame[column].loc[rows].tolist()
        others = frame[other].loc[rows].tolist() if other else [None] * len(rows)
        return [template.format(value=v, other=o) for v, o in zip(values, others)]

    return describe


RESULT_FORMAT = {"result_format": "COMPLETE", "partial_unexpected_count": 3,
                 "return_unexpected_index_query": False, "exclude_unexpected_values": True}


def validate(frame: pd.DataFrame, suite: gx.ExpectationSuite) -> Validation:
    """Which rows failed which expectation; whether that holds the batch is the quarantine's call
    (``quarantine.hold_reason``), the same rule as for the mapping's failures."""
    if frame.empty:
        return Validation(statistics={"evaluated_expectations": 0, "rows": 0})
    result = _run(frame, suite, RESULT_FORMAT)
    kept = kept_result(result)
    stats = dict(result.statistics)
    stats["rows"] = len(frame)
    failed = [r for r in result.results if not r.success]
    stats["failed_checks"] = {r.expectation_config.meta["check"]: r.result.get("unexpected_count", 0) for r in failed}
    broken = [r for r in failed if r.exception_info.get("raised_exception")]
    if broken:
        info = broken[0].exception_info
        raise RuntimeError(f"expectation {broken[0].expectation_config.type} could not run: "
                           f"{info.get('exception_message')}")
    failures = []
    for r in failed:
        rows = np.asarray(r.result.get("unexpected_index_list") or [], dtype=np.int64)
        if rows.size:
            failures.append(CheckFailure(r.expectation_config.meta["check"], rows,
                                         _reasons(frame, r.expectation_config)))
    return Validation(failures=failures, statistics=stats, result=kept)
