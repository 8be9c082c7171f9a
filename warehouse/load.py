"""Load a validated batch: COPY into a temporary staging table, one set-based merge into
``core``, quarantined rows into ``quarantine``, all inside the caller's transaction.

The merge is idempotent on the schema's natural key: a row whose hash is unchanged is not
touched, a changed row is updated in place, a new one inserted; PostgreSQL counts which is
which (``xmax = 0`` marks an insert), so nothing is counted twice in Python.
"""
from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import numpy as np
import pandas as pd
from psycopg import sql
from sqlalchemy import Column, Connection, MetaData, Table, cast, func, literal, literal_column, select, Text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from schemas import Schema
from schemas import pii
from warehouse.tables import schema_tables, stored_names


def _for_copy(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps as UTC ISO text made by numpy: pandas formats tz-aware values one by one,
    which cost more than the whole COPY."""
    out = frame.copy(deep=False)
    for name, col in frame.items():
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            utc = col.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
            text = np.char.add(np.datetime_as_string(utc, unit="us"), "+00")
            out[name] = np.where(np.isnat(utc), None, text)
    return out


def _copy_into_stage(conn: Connection, staging: Table, frame: pd.DataFrame) -> Table:
    """Create the batch's temporary staging table and COPY the frame into it."""
    name = f"stage_{staging.name}"
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {}.{}) ON COMMIT DROP").format(
            sql.Identifier(name), sql.Identifier(staging.schema), sql.Identifier(staging.name)))
        if len(frame):
            columns = sql.SQL(", ").join(sql.Identifier(c) for c in frame.columns)
            buffer = io.StringIO()
            _for_copy(frame).to_csv(buffer, index=False, header=False)
            with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(sql.Identifier(name), columns)) as copy:
                copy.write(buffer.getvalue())
    return Table(name, MetaData(), *(Column(c.name, c.type) for c in staging.columns))


def merge(conn: Connection, schema: Schema, *, source: str, batch_id: int, frame: pd.DataFrame,
          positions: list[str]) -> dict[str, int]:
    core, staging, _ = schema_tables(schema)
    columns = stored_names(schema)
    staged = pii.protect(frame[schema.field_names], schema)[columns].assign(source_position=positions)
    stage = _copy_into_stage(conn, staging, staged)
    business = [stage.c[f] for f in columns]
    # Row text depends on the session's TimeZone and DateStyle: pin both so hashes are stable.
    conn.exec_driver_sql("SET LOCAL TimeZone = 'UTC'")
    conn.exec_driver_sql("SET LOCAL DateStyle = 'ISO, YMD'")
    row_hash = func.md5(cast(func.row(*business), Text))
    lineage = [literal(source).label("source"), literal(batch_id).label("batch_id"),
               stage.c.source_position, row_hash.label("row_hash"),
               func.now().label("loaded_at"), literal(schema.version).label("schema_version")]
    names = columns + ["source", "batch_id", "source_position", "row_hash", "loaded_at", "schema_version"]
    stmt = pg_insert(core).from_select(names, select(*business, *lineage))
    stmt = stmt.on_conflict_do_update(
        index_elements=list(schema.stored_key),
        set_={n: stmt.excluded[n] for n in names if n not in schema.stored_key},
        where=core.c.row_hash != stmt.excluded.row_hash,
    ).returning(literal_column("(xmax = 0)").label("inserted"))
    merged = stmt.cte("merged")
    inserted, updated = conn.execute(select(
        func.count().filter(merged.c.inserted), func.count().filter(~merged.c.inserted))).one()
    return {"inserted": inserted, "updated": updated, "unchanged": len(frame) - inserted - updated}


def raw_hash(raw: dict[str, Any]) -> str:
    return hashlib.md5(json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def quarantine(conn: Connection, schema: Schema, *, source: str, batch_id: int,
               rows: list[dict[str, Any]]) -> int:
    """Keep failing rows with their raw record and reasons; a row seen again is counted, not copied."""
    if not rows:
        return 0
    _, _, table = schema_tables(schema)
    params = [{"source": source, "batch_id": batch_id, "last_batch_id": batch_id,
               "source_position": r["position"], "raw_record": r["raw"], "failed_checks": r["checks"],
               "reason": r["reason"], "row_hash": raw_hash(r["raw"]), "schema_version": schema.version}
              for r in rows]
    stmt = pg_insert(table)
    stmt = stmt.on_conflict_do_update(
        constraint=f"{schema.name}_quarantine_once",
        set_={"last_batch_id": stmt.excluded.last_batch_id, "times_seen": table.c.times_seen + 1,
              "last_seen_at": func.now(), "reason": stmt.excluded.reason,
              "failed_checks": stmt.excluded.failed_checks})
    conn.execute(stmt, params)
    return len(rows)
