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

from quality import checks, direct
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
    (``quarantine.hold_reason``), the same rule as for the mapping's failures.

    The suite is evaluated by ``quality.direct`` where it can be (the same results, without Great
    Expectations' per-batch machinery), else by Great Expectations."""
    if frame.empty:
        return Validation(statistics={"evaluated_expectations": 0, "rows": 0})
    if direct.enabled() and direct.supports(suite):
        failed, stats = direct.evaluate(frame, suite)
        result = _direct_result(frame, suite, failed, stats)
    else:
        failed, stats, result = _by_great_expectations(frame, suite)
    stats = {**stats, "rows": len(frame),
             "failed_checks": {config.meta["check"]: count for config, _, count in failed}}
    failures = [CheckFailure(config.meta["check"], rows, _reasons(frame, config))
                for config, rows, _ in failed if rows.size]
    return Validation(failures=failures, statistics=stats, result=kept_result(result))


def _by_great_expectations(frame: pd.DataFrame, suite: gx.ExpectationSuite):
    result = _run(frame, suite, RESULT_FORMAT)
    failed = [r for r in result.results if not r.success]
    for r in failed:
        message = _raised(r.exception_info or {})
        if message is not None:
            raise direct.CheckError(r.expectation_config, message)
    return [(r.expectation_config, np.asarray(r.result.get("unexpected_index_list") or [], dtype=np.int64),
             r.result.get("unexpected_count", 0)) for r in failed], dict(result.statistics), result


def _raised(info: dict) -> str | None:
    """What a metric of the expectation raised, if one did. Great Expectations 1.x keeps it per
    metric (``{metric id: {raised_exception, exception_message}}``), not at the top where 0.x did,
    and reports the expectation failed with no rows: read at the top only, the fault passed unseen."""
    for entry in (info, *(v for v in info.values() if isinstance(v, dict))):
        if entry.get("raised_exception"):
            return str(entry.get("exception_message") or "an error in Great Expectations")
    return None


def _direct_result(frame: pd.DataFrame, suite: gx.ExpectationSuite, failed, stats: dict
                   ) -> ExpectationSuiteValidationResult:
    """What Great Expectations would have reported, as its own result object, for Data Docs:
    every expectation with its count of unexpected rows (never the rows or their values)."""
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult

    counts = {config.meta["check"]: count for config, _, count in failed}
    results = []
    for expectation in suite.expectations:
        config = expectation.configuration
        count = counts.get(config.meta["check"])
        results.append(ExpectationValidationResult(
            success=count is None, expectation_config=config,
            result={"element_count": len(frame), "unexpected_count": count or 0,
                    "unexpected_percent": 100.0 * (count or 0) / len(frame) if len(frame) else 0.0}))
    return ExpectationSuiteValidationResult(success=not failed, results=results, suite_name=suite.name,
                                            statistics=stats)
