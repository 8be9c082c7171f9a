"""The run: extract -> map -> validate -> load -> audit, batch by batch.

Plain Python, called the same way by the CLI, an Airflow task and a test. It chains the
stages and owns no logic of its own; a failure is re-raised as :class:`StageError` naming
the source and the stage, so one line says where things went wrong.
"""
from __future__ import annotations

from common.errors import HubError

import logging
import time
import uuid
from functools import cache
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from adapters import Adapter, Batch, Rejected, SourceError, get_adapter_class
from pipeline.config import SourceConfig
from pipeline.prefetch import prefetch
from schemas import Schema, get_schema, pii
from schemas.mapping import CheckFailure, map_records
from warehouse import audit, load
from warehouse.connect import WarehouseUnavailable


log = logging.getLogger(__name__)


class StageError(HubError, RuntimeError):
    def __init__(self, source: str, stage: str, cause: BaseException, batch_id: int | None = None):
        self.source, self.stage, self.batch_id = source, stage, batch_id
        if isinstance(cause, SourceError):
            detail = cause.problem
        elif isinstance(cause, WarehouseUnavailable):  # nothing of this batch was kept: say which it was
            stage = f"{stage}, batch {batch_id}" if batch_id else stage
            detail = str(cause)
        elif isinstance(cause, ValueError):
            detail = str(cause)
        else:
            detail = f"{type(cause).__name__}: {cause}"
        super().__init__(f"source {source!r}, {stage}: {detail}")


@dataclass
class BatchResult:
    batch_id: int
    status: str
    counts: dict[str, int]
    held: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class RunResult:
    source: str
    run_id: str
    batches: list[BatchResult] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        return {k: sum(b.counts.get(k, 0) for b in self.batches) for k in audit.COUNTS}

    @property
    def seconds(self) -> dict[str, float]:
        """Time spent per stage over the run (map and validate overlap load: see pipeline.prefetch)."""
        out: dict[str, float] = {}
        for b in self.batches:
            for k, v in b.seconds.items():
                out[k] = out.get(k, 0.0) + v
        return out

    @property
    def held(self) -> list[BatchResult]:
        return [b for b in self.batches if b.status == "held"]


def prepare_warehouse(engine: Engine) -> None:
    """Migrate, and load the reference data on first use: checks read the ref tables."""
    from refdata import sync
    from warehouse.migrate import upgrade

    upgrade(engine)
    if not sync.is_loaded(engine):
        sync.sync(engine)


def make_adapter(source: SourceConfig) -> Adapter:
    return get_adapter_class(source.adapter)(source.name, source.options)


def _stage(source_name: str, stage: str, at_batch: int | None, fn: Callable, /, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except StageError:
        raise
    except Exception as exc:
        raise StageError(source_name, stage, exc, at_batch) from exc


def _quarantine_rows(batch: Batch, failures: list[CheckFailure], held: str | None,
                     protect: Callable[..., dict]) -> list[dict[str, Any]]:
    """One quarantine row per failing record, with every check it failed and why."""
    rows = [{"position": r.position, "raw": protect(r.raw, aligned=False), "checks": [r.check], "reason": r.reason}
            for r in (Rejected(*t) for t in batch.rejected)]
    if held:
        checks = sorted({f.check for f in failures}) or ["held"]
        records = batch.records.to_dict("records")
        return rows + [{"position": p, "raw": protect(r), "checks": checks, "reason": held}
                       for p, r in zip(batch.positions, records)]
    by_row: dict[int, tuple[list[str], list[str]]] = {}
    for f in failures:
        for i, reason in zip(f.rows.tolist(), f.reason(f.rows)):
            checks, reasons = by_row.setdefault(i, ([], []))
            checks.append(f.check)
            reasons.append(reason)
    failing = sorted(by_row)
    for i, raw in zip(failing, batch.records.iloc[failing].to_dict("records")):
        checks, reasons = by_row[i]
        rows.append({"position": batch.positions[i], "raw": protect(raw), "checks": checks,
                     "reason": "; ".join(reasons)})
    return rows


def _held_by_mapping(failures: list[CheckFailure], n: int, source: SourceConfig, min_rows: int = 20) -> str | None:
    worst = max(failures, key=lambda f: f.rows.size, default=None)
    if worst is None or n < min_rows or worst.rows.size / n <= source.max_failure_ratio:
        return None
    example = worst.reason(worst.rows[:1])[0]
    return (f"batch held whole: check {worst.check} failed for {100 * worst.rows.size / n:.0f}% of rows "
            f"(e.g. {example}); the source looks broken (changed columns or formats?)")


def _protector(source: SourceConfig, schema: Schema) -> Callable[..., dict]:
    """How a raw record is kept in quarantine: protected fields (a citizen ID) hashed and masked."""
    columns = {v: k for k, v in source.fields.items()}

    def protect(raw: dict, aligned: bool = True) -> dict:
        return pii.protect_record(raw, columns, schema) if aligned else pii.protect_unaligned(raw)
    return protect


def _scrubbed(schema: Schema, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reasons quote the bad value: a citizen ID in one is quoted masked."""
    for q in rows:
        q["reason"] = pii.scrub(q["reason"])
    return rows


def _left_out(source: SourceConfig, schema: Schema, batch: Batch, good: pd.DataFrame,
              counts: dict[str, Any]) -> list[dict[str, Any]]:
    """Quarantine rows for what the merge left out: keys an earlier batch of the same read loaded
    (duplicates in the source, as the mapping finds them within a batch, whichever batch boundary
    falls between them), and keys another source owns."""
    earlier, owners = dict(counts.pop("repeated")), dict(counts.pop("conflicts", []))
    if not (earlier or owners):
        return []
    key = list(schema.natural_key)
    protect, rows, shown = _protector(source, schema), [], "+".join(key)
    for i in good.index:
        position = batch.positions[i]
        if position not in earlier and position not in owners:
            continue
        value = good.at[i, key[0]] if len(key) == 1 else tuple(good.loc[i, key])
        if position in earlier:
            check, reason = (f"unique_key:{shown}", f"duplicate: {shown} {value!r} appears earlier in the source, "
                                                    f"at {earlier[position]}")
        else:
            check, reason = (f"key_owner:{shown}", f"{shown} {value!r} belongs to source {owners[position]!r}, "
                             f"which loaded it first; this source may change it only if its may_update (sources.yaml) "
                             f"names {owners[position]!r}")
        rows.append({"position": position, "raw": protect(batch.records.iloc[i].to_dict()), "checks": [check],
                     "reason": reason})
    return _scrubbed(schema, rows)


@dataclass
class Checked:
    """A batch after map and validate: what loads, what is quarantined, and why."""
    good: Any
    quarantined: list[dict[str, Any]]
    statistics: dict
    held: str | None
    seconds: dict[str, float] = field(default_factory=dict)


def check_batch(source: SourceConfig, schema: Schema, batch: Batch, suite, batch_id: int | None = None) -> Checked:
    """Map and validate one batch; shared by a load and by a dry run (``hub validate``).

    ``suite`` is the expectation suite, or a function that makes it when first needed."""
    suite = suite() if callable(suite) else suite
    from quality.validate import validate  # Great Expectations is heavy: import it when a batch runs

    # a position may quote a record's key (a REST or SQL source's): an ID in one is kept masked
    batch.positions = pii.scrub_all(batch.positions)
    batch.rejected = [Rejected(*t)._replace(position=pii.scrub(Rejected(*t).position)) for t in batch.rejected]

    if batch.records.columns.empty and batch.rejected:
        # Nothing could be split into fields (a file its encoding can't decode): there is nothing
        # to map, and the source needs a person, so the batch is held with the adapter's reason.
        held = "; ".join(dict.fromkeys(Rejected(*t).reason for t in batch.rejected))
        return Checked(pd.DataFrame(), _quarantine_rows(batch, [], None, lambda raw, aligned=True:
                                                        pii.protect_unaligned(raw)), {}, pii.scrub(held))
    clock = time.perf_counter()
    mapped = _stage(source.name, "map", batch_id, map_records, batch.records, schema=schema,
                    fields=source.fields, values=source.values, date_formats=source.date_formats,
                    timezone=source.timezone, locale=source.locale)
    failures, stats = list(mapped.failures), {}
    by_check: dict[str, list[int]] = {}
    for i, r in enumerate(Rejected(*t) for t in batch.rejected):
        by_check.setdefault(r.check, []).append(i)
    rejected = [CheckFailure(check, np.array(rows), lambda r: [batch.rejected[i][2] for i in r])
                for check, rows in by_check.items()]
    held = _held_by_mapping(failures + rejected, len(batch), source)
    seconds = {"map": time.perf_counter() - clock}
    clock = time.perf_counter()
    if not held:
        clean = mapped.frame.drop(index=mapped.failed_rows())
        checked = _stage(source.name, "validate", batch_id, validate, clean, suite,
                         max_failure_ratio=source.max_failure_ratio)
        stats, held = checked.statistics, checked.held
        failures += checked.failures
    seconds["validate"] = time.perf_counter() - clock
    quarantined = _scrubbed(schema, _quarantine_rows(batch, failures, held, _protector(source, schema)))
    held = held and pii.scrub(held)  # reasons quote the bad value: an ID in one is quoted masked
    if held:
        good = mapped.frame.iloc[0:0]
    else:
        bad = np.unique(np.concatenate([f.rows for f in failures])) if failures else []
        good = mapped.frame.drop(index=bad)
    return Checked(good, quarantined, stats, held, seconds)


def process_batch(engine: Engine, source: SourceConfig, schema: Schema, batch: Batch,
                  checked: Checked | BaseException, *, run_id: str, start: dict | None,
                  snapshot: bool = False) -> BatchResult:
    """Load one checked batch in one transaction, with its audit row and watermark; in a
    ``snapshot`` source (see :class:`adapters.Adapter`) a key read twice is a duplicate."""
    origin = batch.origin
    batch_id = _stage(source.name, "load (opening its batch)", None, audit.open_batch, engine, run_id=run_id,
                      source=source.name, adapter=source.adapter, schema_name=schema.name,
                      schema_version=schema.version, file=origin.get("file"), file_sha256=origin.get("sha256"),
                      position_start=start, position_end=batch.position)
    read = len(batch)
    try:
        if isinstance(checked, BaseException):
            raise checked
        good = checked.good
        clock = time.perf_counter()
        with engine.begin() as conn:
            counts = {"inserted": 0, "updated": 0, "unchanged": 0, "repeated": [], "conflicts": []}
            if len(good):
                counts = _stage(source.name, "load", batch_id, load.merge, conn, schema, source=source.name,
                                batch_id=batch_id, frame=good, positions=[batch.positions[i] for i in good.index],
                                read=(run_id, audit.same_read(conn, source=source.name, run_id=run_id,
                                                              file=origin.get("file"), sha256=origin.get("sha256")))
                                if snapshot else None, may_update=source.may_update)
            quarantined = checked.quarantined + _left_out(source, schema, batch, good, counts)
            counts["quarantined"] = _stage(source.name, "quarantine", batch_id, load.quarantine, conn, schema,
                                           source=source.name, batch_id=batch_id, rows=quarantined)
            counts["read"] = read
            status = "held" if checked.held else "succeeded"
            audit.close_batch(conn, batch_id, status=status, counts=counts,
                              gx_statistics=checked.statistics or None, error=checked.held)
            audit.set_watermark(conn, source.name, batch.position, batch_id)
        seconds = {**checked.seconds, "load": time.perf_counter() - clock}
        return BatchResult(batch_id, status, counts, checked.held, seconds)
    except BaseException as exc:
        error = exc if isinstance(exc, StageError) else StageError(source.name, "load", exc, batch_id)
        try:
            audit.fail_batch(engine, batch_id, str(error), rows_read=read)
        except WarehouseUnavailable:  # left running: the source's next run closes it as abandoned
            pass
        if error is exc:
            raise
        raise error from exc


def _prepare_run(source: SourceConfig, engine: Engine):
    """The run's schema and adapter, and its suite built on the first batch: a source with
    nothing new should cost a checksum, not the loading of catalogues and expectations."""
    from quality import catalogs
    from quality.suite import build_suite

    schema = _stage(source.name, "schema", None, get_schema, source.schema)
    adapter = _stage(source.name, "extract", None, make_adapter, source)

    @cache
    def suite():
        catalogs.use(_stage(source.name, "reference data", None, catalogs.load, engine))
        return _stage(source.name, "validate", None, build_suite, schema)

    return schema, adapter, suite


def dry_run(source: SourceConfig, engine: Engine) -> dict[str, Any]:
    """What a load would do, without loading: counts, failures by check, reasons per row."""
    schema, adapter, suite = _prepare_run(source, engine)
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
            report["rows"] += [{"position": q["position"], "reason": q["reason"]} for q in checked.quarantined[:100]]
    except StageError:
        raise
    except Exception as exc:
        raise StageError(source.name, "extract", exc) from exc
    return report


def run_source(source: SourceConfig, engine: Engine, *, full_refresh: bool = False,
               on_batch: Callable[[BatchResult], None] | None = None) -> RunResult:
    """Load every batch the source has after its watermark (from the start with ``full_refresh``).

    A source with nothing new still leaves an ``unchanged`` audit row, so an auditor sees
    that the run happened and found nothing to do.
    """
    run_id = str(uuid.uuid4())
    result = RunResult(source.name, run_id)
    schema, adapter, suite = _prepare_run(source, engine)
    for abandoned in _stage(source.name, "start", None, audit.abandon_running, engine, source.name, run_id):
        log.warning("source %r: batch %d was left running by a process that died; marked abandoned",
                    source.name, abandoned)
    start = None if full_refresh else _stage(source.name, "start", None, audit.get_watermark, engine, source.name)
    base = dict(run_id=run_id, source=source.name, adapter=source.adapter,
                schema_name=schema.name, schema_version=schema.version)
    try:
        origin = adapter.describe()

        def checked_batches(resume_from=start):
            for batch in adapter.batches(resume_from):
                try:
                    yield batch, check_batch(source, schema, batch, suite)
                except StageError as exc:  # belongs to this batch: its audit row will say so
                    yield batch, exc

        for batch, checked in prefetch(checked_batches()):
            done = process_batch(engine, source, schema, batch, checked, run_id=run_id, start=start,
                                 snapshot=adapter.snapshot)
            result.batches.append(done)
            start = batch.position
            if on_batch:
                on_batch(done)
    except StageError:
        raise
    except WarehouseUnavailable as exc:  # no audit row can be written: say where it happened
        raise StageError(source.name, "load", exc) from exc
    except Exception as exc:  # extraction failed: leave a failed audit row that says why
        batch_id = audit.open_batch(engine, **base, position_start=start)
        error = StageError(source.name, "extract", exc, batch_id)
        audit.fail_batch(engine, batch_id, str(error))
        raise error from exc
    finally:
        try:
            load.forget_run(engine, run_id)
        except WarehouseUnavailable:  # the run's error says so already
            pass
        except SQLAlchemyError as exc:  # harmless leftovers under a run id never used again
            log.warning("source %r: could not clear the run's noted keys: %s", source.name, type(exc).__name__)
    if not result.batches:
        batch_id = audit.open_batch(engine, **base, file=origin.get("file"), file_sha256=origin.get("sha256"),
                                    position_start=start, position_end=start)
        with engine.begin() as conn:
            audit.close_batch(conn, batch_id, status="unchanged", counts={},
                              error="nothing new since the watermark")
        result.batches.append(BatchResult(batch_id, "unchanged", {k: 0 for k in audit.COUNTS}))
    return result
