"""``hub quarantine replay``: revalidate quarantined records after what refused them was fixed.

The records go through the same map and checks as a run (:func:`pipeline.run.check_batch`),
rebuilt from the raw record kept in quarantine, against the reference data as it is now. Those
that pass load as one new batch in the audit trail (adapter ``replay``; the source's watermark
is not touched), and their quarantine rows name that batch; the others keep their rows with
their reasons brought up to date. Nothing is deleted, and a record loaded once is never
replayed again, so a second replay loads nothing twice.

Some records can't be replayed, and say why: a duplicate key (no reference fix makes a second
copy right), a record that could not be split into fields, a record whose citizen ID is kept
only masked (the raw number is never stored), and a key core has since received from its source.
"""
from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Engine, bindparam, select, tuple_, update

from adapters import Batch
from common.errors import HubError
from pipeline.config import SourceConfig
from pipeline.run import check_batch
from quarantine.worklist import _check_filter, columns_of
from schemas import Schema, all_schemas, pii
from warehouse import audit, load
from warehouse.tables import schema_tables

ADAPTER = "replay"


@dataclass
class ReplayResult:
    source: str
    schema: str
    revalidated: int = 0
    loaded: int = 0
    still_failing: int = 0
    batch_id: int | None = None
    skipped: Counter = field(default_factory=Counter)
    """Why records were not replayed, with how many."""


def why_not(row: dict[str, Any], schema: Schema, columns: dict[str, str]) -> str | None:
    checks, raw = row["failed_checks"], row["raw_record"]
    if any(c.startswith("unique_key:") for c in checks):
        return "a duplicate key: no fix of reference data makes it load"
    if not isinstance(raw, dict) or "fields" in raw or "text" in raw or set(checks) & {"encoding", "field_count"}:
        return "the record could not be split into fields"
    if any(f"{columns[f.name]} (hash)" in raw for f in schema.protected):
        return "its citizen ID is kept masked only, so it can't be checked again"
    return None


def replay(engine: Engine, sources: dict[str, SourceConfig], *, source: str | None = None,
           check: str | None = None) -> list[ReplayResult]:
    if source and source not in sources:
        raise HubError(f"no source named {source!r} in the registry (known: {', '.join(sources) or 'none'})")
    from quality import catalogs
    from quality.suite import build_suite

    catalogs.use(catalogs.load(engine))  # the reference data as it is now: the point of a replay
    results = []
    for schema in all_schemas():
        q = schema_tables(schema)[2]
        query = select(q).where(q.c.loaded_batch_id.is_(None)).order_by(q.c.id)
        if source:
            query = query.where(q.c.source == source)
        if check:
            query = query.where(_check_filter(q, check))
        with engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        suite = None
        for name in dict.fromkeys(r["source"] for r in rows):
            result = ReplayResult(name, schema.name)
            results.append(result)
            config = sources.get(name)
            mine = [r for r in rows if r["source"] == name]
            if config is None:
                result.skipped[f"source {name!r} is not in the registry"] += len(mine)
                continue
            columns = columns_of(schema, config)
            todo = []
            for r in mine:
                reason = why_not(r, schema, columns)
                if reason:
                    result.skipped[reason] += 1
                else:
                    todo.append(r)
            if todo:
                suite = suite or build_suite(schema)
                _replay_rows(engine, config, schema, suite, todo, result)
    return results


def _replay_rows(engine: Engine, source: SourceConfig, schema: Schema, suite, rows: list[dict],
                 result: ReplayResult) -> None:
    q = schema_tables(schema)[2]
    core = schema_tables(schema)[0]
    ids = [str(r["id"]) for r in rows]  # the batch's positions: which quarantine row each record is
    records = pd.DataFrame([r["raw_record"] for r in rows]).astype(object)
    records = records.where(records.notna(), None)
    batch = Batch(records, ids, position={}, origin={})
    # a replay is itemised, never held whole: the records are those a source sent broken already
    checked = check_batch(dataclasses.replace(source, max_failure_ratio=1.0), schema, batch, suite)
    result.revalidated = len(rows)
    by_id = {str(r["id"]): r for r in rows}
    good = checked.good
    if len(good):
        stored = pii.protect(good[schema.field_names], schema)
        keys = [tuple(stored.loc[i, k] for k in schema.stored_key) for i in good.index]
        with engine.connect() as conn:
            present = set(map(tuple, conn.execute(select(*(core.c[k] for k in schema.stored_key))
                                                  .where(tuple_(*(core.c[k] for k in schema.stored_key)).in_(keys)))))
        known = [i for i, k in zip(good.index, keys) if k in present]
        good = good.drop(index=known)
        for i in known:
            checked.quarantined.append({"position": ids[i], "checks": ["replay:key_in_core"],
                                        "reason": "not replayed: core already holds this key, loaded since"})
    failing = {q_["position"]: q_ for q_ in checked.quarantined}
    result.still_failing = len(failing)
    batch_id = None
    if len(good):
        batch_id = audit.open_batch(engine, run_id=str(uuid.uuid4()), source=source.name, adapter=ADAPTER,
                                    schema_name=schema.name, schema_version=schema.version,
                                    position_start={"quarantine": schema.name, "records": len(rows)})
    try:
        with engine.begin() as conn:
            counts = {"inserted": 0, "updated": 0, "unchanged": 0}
            if len(good):
                loaded = [ids[i] for i in good.index]
                merged = load.merge(conn, schema, source=source.name, batch_id=batch_id, frame=good,
                                    positions=[by_id[i]["source_position"] for i in loaded])
                counts = {k: merged[k] for k in counts}
                conn.execute(update(q).where(q.c.id.in_([int(i) for i in loaded])).values(loaded_batch_id=batch_id))
            if failing:  # one statement executed many times, not a round trip per row
                conn.execute(update(q).where(q.c.id == bindparam("row_id"))
                             .values(failed_checks=bindparam("now_failing"), reason=bindparam("now_why")),
                             [{"row_id": int(rid), "now_failing": f["checks"], "now_why": f["reason"]}
                              for rid, f in failing.items()])
            if batch_id is not None:
                audit.close_batch(conn, batch_id, status="succeeded",
                                  counts={**counts, "read": len(rows), "quarantined": len(failing)},
                                  gx_statistics=checked.statistics or None, profile=checked.profile,
                                  columns=[str(c) for c in records.columns],
                                  position_end={"quarantine": schema.name, "loaded": int(len(good))})
    except BaseException as exc:
        if batch_id is not None:
            audit.fail_batch(engine, batch_id, f"replay of {source.name}: {type(exc).__name__}: {exc}",
                             rows_read=len(rows))
        raise
    result.loaded, result.batch_id = int(len(good)), batch_id
