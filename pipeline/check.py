"""Map, validate and quarantine one batch: what a load commits, and what a dry run reports."""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pandas as pd
from sqlalchemy import Engine

import quarantine
from adapters import Adapter, Batch, get_adapter_class
from pipeline.config import SourceConfig, get_source
from pipeline.stage import StageError, stage
from quality.profile import profile
from schemas import Schema, get_schema
from schemas.mapping import map_records


@dataclass
class Checked:
    """A batch after map and validate: what loads, what is quarantined, and why."""
    good: Any
    quarantined: list[dict[str, Any]]
    statistics: dict
    held: str | None
    seconds: dict[str, float] = field(default_factory=dict)
    profile: dict | None = None
    """Per field of the mapped batch: rows, nulls, distinct values (the report's distribution)."""
    validation: dict | None = None
    """Great Expectations' result, kept (bounded) for Data Docs."""


def make_adapter(source: SourceConfig) -> Adapter:
    return get_adapter_class(source.adapter)(source.name, source.options)


def check_batch(source: SourceConfig, schema: Schema, batch: Batch, suite, batch_id: int | None = None) -> Checked:
    """map -> validate -> quarantine, one call each; shared by a load and by a dry run.

    ``suite`` is the expectation suite, or a function that makes it when first needed."""
    quarantine.scrub_positions(batch)
    if batch.records.columns.empty and batch.rejected:  # nothing could be split into fields
        rows, held = quarantine.undecodable(batch)
        return Checked(pd.DataFrame(), rows, {}, held)
    from quality.validate import validate  # Great Expectations is heavy: import it when a batch runs

    clock = time.perf_counter()
    mapped = stage(source.name, "map", batch_id, map_records, batch.records, schema=schema,
                   fields=source.fields, values=source.values, date_formats=source.date_formats,
                   timezone=source.timezone, locale=source.locale)
    failures, stats, validation = list(mapped.failures), {}, None
    held = quarantine.hold_reason(failures + quarantine.adapter_failures(batch), len(batch),
                                  max_failure_ratio=source.max_failure_ratio)
    seconds = {"map": time.perf_counter() - clock}
    clock = time.perf_counter()
    if not held:
        clean = mapped.frame.drop(index=mapped.failed_rows())
        checked = stage(source.name, "validate", batch_id, validate, clean, suite() if callable(suite) else suite)
        stats, validation = checked.statistics, checked.result
        held = quarantine.hold_reason(checked.failures, len(clean) + batch.skipped,
                                      max_failure_ratio=source.max_failure_ratio)
        failures += checked.failures
    seconds["validate"] = time.perf_counter() - clock
    out = quarantine.quarantine_rows(batch, mapped.frame, failures, held, schema=schema, fields=source.fields)
    held = quarantine.records.scrub_reason(held)
    return Checked(mapped.frame.loc[out.good_index], out.rows, stats, held, seconds, profile(mapped.frame),
                   validation)


def prepare(source: SourceConfig, engine: Engine):
    """The run's schema and adapter, and its suite built on the first batch: a source with
    nothing new should cost a checksum, not the loading of catalogues and expectations."""
    from quality import catalogs
    from quality.suite import suite_for

    schema = stage(source.name, "schema", None, get_schema, source.schema)
    adapter = stage(source.name, "extract", None, make_adapter, source)

    @cache
    def suite():
        catalogs.use(stage(source.name, "reference data", None, catalogs.load_current, engine))
        return stage(source.name, "validate", None, suite_for, schema, catalogs.current())

    return schema, adapter, suite


def file_source(path: str, schema: str, *, like: str | None = None, file_format: str | None = None,
                encoding: str | None = None) -> SourceConfig:
    """A source for one file, for a dry run: its mapping borrowed from a registered source
    (``like``), or the schema's own column names."""
    base = get_source(like) if like else SourceConfig(name="dry_run", adapter="file", schema=schema)
    # a REST or SQL source lends its mapping, not its options: a file adapter refuses theirs
    options = {**(base.options if base.adapter == "file" else {}), "path": str(path)}
    if file_format:
        options["format"] = file_format
    if encoding:
        options["encoding"] = encoding
    return dataclasses.replace(base, adapter="file", schema=schema, options=options)


def dry_run(source: SourceConfig, engine: Engine, *, keep: int = 100) -> dict[str, Any]:
    """What a load would do, without loading: counts, failures by check, reasons of the first rows."""
    schema, adapter, suite = prepare(source, engine)
    report = {"read": 0, "pass": 0, "fail": 0, "held": None, "by_check": {}, "rows": []}
    try:
        for batch in adapter.batches(None):
            checked = check_batch(source, schema, batch, suite)
            report["read"] += len(batch)
            report["pass"] += len(checked.good)
            report["fail"] += len(checked.quarantined)
            report["held"] = report["held"] or checked.held
            for q in checked.quarantined:
                for c in q["checks"]:
                    report["by_check"][c] = report["by_check"].get(c, 0) + 1
            room = keep - len(report["rows"])
            report["rows"] += [{"position": q["position"], "reason": q["reason"]} for q in checked.quarantined[:room]]
    except StageError:
        raise
    except Exception as exc:
        raise StageError(source.name, "extract", exc) from exc
    return report
