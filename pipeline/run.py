"""The run: extract -> map -> validate -> quarantine -> load -> audit, batch by batch.

Plain Python, called the same way by the CLI, an Airflow task and a test. It only chains the
stages (``pipeline.check`` maps, validates and quarantines a batch; ``warehouse`` loads and
audits it); a failure is re-raised as :class:`StageError` naming the source and the stage, so
one line says where things went wrong.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

import quarantine
from adapters import Batch
from pipeline.check import Checked, check_batch, dry_run, make_adapter, prepare
from pipeline.config import SourceConfig
from pipeline.prefetch import prefetch
from pipeline.stage import StageError, stage
from schemas import Schema
from warehouse import audit, load
from warehouse.lock import one_run_per_source

__all__ = ["BatchResult", "Checked", "RunResult", "StageError", "check_batch", "dry_run", "make_adapter",
           "prepare_warehouse", "process_batch", "run_source"]

log = logging.getLogger(__name__)


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
    from refdata.sync import is_loaded
    from sync.publish import refresh_and_publish
    from warehouse.migrate import upgrade

    upgrade(engine)
    if not is_loaded(engine):
        refresh_and_publish(engine)


def process_batch(engine: Engine, source: SourceConfig, schema: Schema, batch: Batch,
                  checked: Checked | BaseException, *, run_id: str, start: dict | None,
                  snapshot: bool = False) -> BatchResult:
    """Load one checked batch in one transaction, with its audit row and watermark; in a
    ``snapshot`` source (see :class:`adapters.Adapter`) a key read twice is a duplicate."""
    origin = batch.origin
    batch_id = audit.open_batch(engine, run_id=run_id, source=source.name, adapter=source.adapter,
                                schema_name=schema.name, schema_version=schema.version,
                                file=origin.get("file"), file_sha256=origin.get("sha256"),
                                position_start=start, position_end=batch.position)
    read = len(batch)
    try:
        if isinstance(checked, BaseException):
            raise checked
        good = checked.good
        clock = time.perf_counter()
        with engine.begin() as conn:
            counts = {"inserted": 0, "updated": 0, "unchanged": 0, "repeated": []}
            if len(good):
                counts = stage(source.name, "load", batch_id, load.merge, conn, schema, source=source.name,
                                batch_id=batch_id, frame=good, positions=[batch.positions[i] for i in good.index],
                                read=(run_id, audit.same_read(conn, source=source.name, run_id=run_id,
                                                              file=origin.get("file"), sha256=origin.get("sha256")))
                                if snapshot else None)
            quarantined = checked.quarantined + quarantine.repeats(batch, good, counts.pop("repeated"),
                                                                   schema=schema, fields=source.fields)
            counts["quarantined"] = stage(source.name, "quarantine", batch_id, load.quarantine, conn, schema,
                                           source=source.name, batch_id=batch_id, rows=quarantined)
            counts["read"] = read
            status = "held" if checked.held else "succeeded"
            audit.close_batch(conn, batch_id, status=status, counts=counts,
                              gx_statistics=checked.statistics or None, error=checked.held,
                              columns=[str(c) for c in batch.records.columns], profile=checked.profile)
            if checked.validation:
                audit.keep_validation(conn, batch_id, source=source.name, suite=schema.name,
                                      result=checked.validation)
            audit.set_watermark(conn, source.name, batch.position, batch_id)
        seconds = {**checked.seconds, "load": time.perf_counter() - clock}
        return BatchResult(batch_id, status, counts, checked.held, seconds)
    except BaseException as exc:
        error = exc if isinstance(exc, StageError) else StageError(source.name, "load", exc, batch_id)
        audit.fail_batch(engine, batch_id, str(error), rows_read=read)
        if error is exc:
            raise
        raise error from exc


def run_source(source: SourceConfig, engine: Engine, *, full_refresh: bool = False,
               on_batch: Callable[[BatchResult], None] | None = None, wait: float = 0.0) -> RunResult:
    """Load every batch the source has after its watermark (from the start with ``full_refresh``).

    One run per source at a time: the run holds the source's lock in the warehouse, waiting up to
    ``wait`` seconds for a run already under way (else :class:`warehouse.lock.SourceBusy`, naming
    it). A source with nothing new still leaves an ``unchanged`` audit row, so an auditor sees that
    the run happened and found nothing to do.
    """
    run_id = str(uuid.uuid4())
    schema, adapter, suite = prepare(source, engine)
    with one_run_per_source(engine, source.name, run_id, wait=wait):
        return _run(source, engine, schema, adapter, suite, run_id=run_id, full_refresh=full_refresh,
                    on_batch=on_batch)


def _run(source: SourceConfig, engine: Engine, schema: Schema, adapter, suite, *, run_id: str,
         full_refresh: bool, on_batch: Callable[[BatchResult], None] | None) -> RunResult:
    result = RunResult(source.name, run_id)
    start = None if full_refresh else audit.get_watermark(engine, source.name)
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
    except Exception as exc:  # extraction failed: leave a failed audit row that says why
        batch_id = audit.open_batch(engine, **base, position_start=start)
        error = StageError(source.name, "extract", exc, batch_id)
        audit.fail_batch(engine, batch_id, str(error))
        raise error from exc
    finally:
        try:
            load.forget_run(engine, run_id)
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
