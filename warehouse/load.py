"""Load a validated batch: COPY into a temporary staging table, one set-based merge into
``core``, quarantined rows into ``quarantine``, all inside the caller's transaction.

The merge is idempotent on the schema's natural key: a row whose hash is unchanged is not
touched, a changed row is updated in place, a new one inserted; PostgreSQL's row counts say
which is which, so nothing is counted in Python.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql
from sqlalchemy import (BigInteger, Column, Connection, LargeBinary, Engine, MetaData, Table, Text, and_, cast, delete, exists, false, func,
                        insert, literal, literal_column, or_, select, update)
from sqlalchemy.dialects.postgresql import insert as pg_insert

from schemas import Schema
from schemas import pii
from warehouse import digest
from warehouse.digest import Digests
from warehouse.tables import OWNER, record_digest, run_key, schema_tables, stored_names


def _csv_bytes(frame: pd.DataFrame) -> pa.Buffer:
    """The frame as CSV for COPY, written by Arrow: pandas' writer formats values one by one
    and cost more than the COPY itself. Strings are always quoted and nulls left empty, which
    is exactly how COPY's CSV format tells an empty string from NULL.

    Zoned timestamps are written as naive UTC (the session's TimeZone is UTC during the COPY):
    Arrow formats a zoned value through a time-zone lookup each, eight times slower."""
    zoned = [c for c, t in frame.dtypes.items() if isinstance(t, pd.DatetimeTZDtype)]
    if zoned:
        frame = frame.assign(**{c: frame[c].dt.tz_convert("UTC").dt.tz_localize(None) for c in zoned})
    out = pa.BufferOutputStream()
    pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), out,
                    pacsv.WriteOptions(include_header=False))
    return out.getvalue()  # a buffer COPY reads in place, not copied into a bytes object


DIGEST_COLUMNS = (Column("source_ordinal", BigInteger), Column("raw_digest", LargeBinary))
"""Staged beside a batch's rows when its records have digests (``warehouse.digest``)."""


def _copy_into_stage(conn: Connection, staging: Table, frame: pd.DataFrame, extra: tuple[Column, ...] = ()) -> Table:
    """Create the batch's temporary staging table (with the ``extra`` columns) and COPY the frame into it."""
    name = f"stage_{staging.name}"
    raw = conn.connection.driver_connection
    more = sql.SQL("").join(sql.SQL(", {} {}").format(sql.Identifier(c.name), sql.SQL(
        c.type.compile(dialect=conn.dialect))) for c in extra)
    with raw.cursor() as cur:
        cur.execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {}.{}{}) ON COMMIT DROP").format(
            sql.Identifier(name), sql.Identifier(staging.schema), sql.Identifier(staging.name), more))
        if len(frame):
            columns = sql.SQL(", ").join(sql.Identifier(c) for c in frame.columns)
            with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(sql.Identifier(name), columns)) as copy:
                copy.write(memoryview(_csv_bytes(frame)))
    return Table(name, MetaData(), *(Column(c.name, c.type) for c in (*staging.columns, *extra)))


def pin_row_text(conn: Connection) -> None:
    """A row's text depends on the session's TimeZone and DateStyle: pin both so hashes are stable."""
    conn.exec_driver_sql("SET LOCAL TimeZone = 'UTC'")
    conn.exec_driver_sql("SET LOCAL DateStyle = 'ISO, YMD'")


def row_hash_of(table: Table, columns: list[str]):
    """The row hash, computed by PostgreSQL from the business columns' text (in the session
    :func:`pin_row_text` pinned)."""
    return func.md5(cast(func.row(*(table.c[c] for c in columns)), Text))


def rehash(conn: Connection, schema: Schema) -> int:
    """Recompute core's row hashes after a column was added: a new empty column changes every
    row's text, and the same file loaded again must still change nothing."""
    core = schema_tables(schema)[0]
    pin_row_text(conn)
    return conn.execute(update(core).values(row_hash=row_hash_of(core, stored_names(schema)))).rowcount


def merge(conn: Connection, schema: Schema, *, source: str, batch_id: int, frame: pd.DataFrame,
          positions: list[str], read: tuple[str, list[int]] | None = None,
          digests: Digests | None = None, may_update: tuple[str, ...] = ()) -> dict[str, Any]:
    """Insert the keys core doesn't have and update the rows whose hash changed, in one statement.

    The staged rows are hashed and matched to core once (a materialised CTE); an update and an
    insert, each a data-modifying CTE, read that match, and their RETURNING rows are counted, so
    PostgreSQL says what it wrote and nothing is counted in Python. Not INSERT ... ON CONFLICT:
    its speculative insertion costs more than the insert itself, and most rows of a rerun are
    unchanged and touch nothing. Merges into one table are serialised by an advisory lock, so
    two sources can't insert the same new key at once.

    The match probes core's key index per staged row: a batch is a bounded slice and core grows
    without bound, yet with core's statistics stale after each batch the planner hashes the
    whole of core each time (each batch slower than the last, a backfill quadratic).

    With ``read`` (the run id, and the batches of this read: this run's, or earlier reads of the
    same file, as after a resume), a key already read is a duplicate in the source, as one within
    a batch is, not an update, wherever a batch boundary fell between the two: a key the read wrote
    carries one of its batch ids; one it left unchanged is noted in ``staging.run_key``. Such rows
    are left out and returned as ``repeated`` (position, earlier position) for quarantine.

    With ``digests`` (see ``warehouse.digest``), each row that loads (or was already there) leaves
    the digest of its raw record at its ordinal, in the same statement; the digests of the batch's
    checked ordinals are dropped first, and one that another ordinal held for the same key goes
    (that key now comes from here). When the run skipped unchanged records, a key a digest holds
    at an ordinal already read makes the staged row a duplicate, as a key noted above does.

    A key belongs to the source that first loaded it (``owner_source``): another source's change to
    it is left out and returned as ``conflicts`` (position, owner) for quarantine, unless this
    source ``may_update`` the owner's keys. Two sources of one schema never overwrite each other
    by accident, and each quarantines what it would alone.
    """
    core, staging, _ = schema_tables(schema)
    columns = stored_names(schema)
    staged = pii.protect(frame[schema.field_names], schema)[columns].assign(source_position=positions)
    if digests is not None:
        staged = staged.assign(source_ordinal=digests.ordinals, raw_digest=digests.hex_column())
        digest.forget(conn, source, digests.checked)
    pin_row_text(conn)  # the COPY below also reads its naive timestamps as UTC
    stage = _copy_into_stage(conn, staging, staged, DIGEST_COLUMNS if digests is not None else ())
    conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(core.fullname))))
    conn.exec_driver_sql("SET LOCAL enable_hashjoin = off")
    conn.exec_driver_sql("SET LOCAL enable_mergejoin = off")
    conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")  # the matched batch stays in memory, not a temp file
    row_hash = row_hash_of(stage, columns)
    matched = stage.outerjoin(core, and_(*(core.c[k] == stage.c[k] for k in schema.stored_key)))
    key_text = cast(func.row(*(stage.c[k] for k in schema.stored_key)), Text)
    run_id, batches = read or ("", [])
    seen = run_key.alias("seen")
    matched = matched.outerjoin(seen, and_(seen.c.run_id == run_id, seen.c.key == key_text, literal(bool(read))))
    wrote = and_(core.c.batch_id.in_(batches), core.c.source_position != stage.c.source_position) \
        if batches else false()
    repeat = or_(seen.c.key.is_not(None), func.coalesce(wrote, False))
    if digests is not None and digests.skipping and read:
        # the key's few digests, found by the key index alone (OFFSET 0 keeps the planner from
        # ANDing in the source's whole ordinal range from the primary key: with the table's
        # statistics stale after a first load, it did, and each staged row cost 4 ms at 200,000)
        digest_of_key = record_digest.alias("held")
        held = select(digest_of_key.c.source, digest_of_key.c.ordinal).where(digest_of_key.c.key == key_text) \
            .correlate(stage).offset(0).subquery("held")
        repeat = or_(repeat, exists().select_from(held).where(
            held.c.source == source, held.c.ordinal < digests.end, held.c.ordinal != stage.c.source_ordinal))
    owner = func.coalesce(core.c[OWNER], core.c.source)
    s = select(*stage.c, row_hash.label("row_hash"), core.c.row_hash.label("stored_hash"), repeat.label("repeat"),
               key_text.label("run_key"), func.coalesce(seen.c.source_position, core.c.source_position)
               .label("stored_position"), owner.label("owner"), owner.in_([source, *may_update]).label("allowed")) \
        .select_from(matched).cte("s").prefix_with("MATERIALIZED")
    lineage = {"source": literal(source), "batch_id": literal(batch_id), "source_position": s.c.source_position,
               "row_hash": s.c.row_hash, "loaded_at": func.now(), "schema_version": literal(schema.version)}
    changes = and_(s.c.stored_hash.is_not(None), s.c.stored_hash != s.c.row_hash, s.c.repeat.is_(False))
    changed = update(core).where(*(core.c[k] == s.c[k] for k in schema.stored_key), changes, s.c.allowed) \
        .values({**{c: s.c[c] for c in columns if c not in schema.stored_key}, **lineage}) \
        .returning(literal_column("1")).cte("updated")
    new = select(*(s.c[c] for c in columns), *(v.label(k) for k, v in lineage.items()), literal(source).label(OWNER)) \
        .where(s.c.stored_hash.is_(None))
    added = insert(core).from_select(columns + list(lineage) + [OWNER], new) \
        .returning(literal_column("1")).cte("inserted")
    noted = insert(run_key).from_select(["run_id", "key", "source_position"], select(
        literal(run_id), s.c.run_key, s.c.source_position).where(s.c.stored_hash == s.c.row_hash, s.c.repeat.is_(False),
                                                                   literal(bool(read)))) \
        .returning(literal_column("1")).cte("noted")
    repeated = select(func.json_agg(func.json_build_array(s.c.source_position, s.c.stored_position))) \
        .where(s.c.repeat).scalar_subquery()
    conflict = and_(changes, s.c.allowed.is_(False))
    writes = [added, changed, noted]
    if digests is not None:
        first = int(digests.checked.min()) if digests.checked.size else 0
        moved = delete(record_digest).where(
            record_digest.c.key == s.c.run_key, s.c.repeat.is_(False), s.c.stored_hash.is_not(None), ~conflict,
            ~and_(record_digest.c.source == source, record_digest.c.ordinal >= first,
                  record_digest.c.ordinal < digests.end)).returning(literal_column("1")).cte("moved")
        vouched = insert(record_digest).from_select(["source", "ordinal", "digest", "key"], select(
            literal(source), s.c.source_ordinal, s.c.raw_digest, s.c.run_key).where(s.c.repeat.is_(False), ~conflict)) \
            .returning(literal_column("1")).cte("vouched")
        writes += [moved, vouched]
    conflicting = select(func.json_agg(func.json_build_array(s.c.source_position, s.c.owner))) \
        .where(conflict).scalar_subquery()
    inserted, updated, *_, repeats, conflicts = conn.execute(select(
        *(select(func.count()).select_from(t).scalar_subquery() for t in writes), repeated, conflicting)).one()
    repeats, conflicts = [tuple(r) for r in repeats or []], [tuple(r) for r in conflicts or []]
    return {"inserted": inserted, "updated": updated,
            "unchanged": len(frame) - inserted - updated - len(repeats) - len(conflicts),
            "repeated": repeats, "conflicts": conflicts}


def forget_run(engine: Engine, run_id: str) -> None:
    """Drop what a finished run noted in ``staging.run_key``."""
    with engine.begin() as conn:
        conn.execute(delete(run_key).where(run_key.c.run_id == run_id))


def raw_hash(raw: dict[str, Any]) -> str:
    return hashlib.md5(json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str).encode(),
                       usedforsecurity=False).hexdigest()


def storable(raw: Any) -> Any:
    """A raw record as jsonb can hold it: PostgreSQL refuses NUL in text and in jsonb, so a NUL is
    kept as U+FFFD there (the row's reason names the field and where the NUL was)."""
    if isinstance(raw, str):
        return raw.replace("\x00", "\ufffd") if "\x00" in raw else raw
    if isinstance(raw, dict):
        return {storable(k): storable(v) for k, v in raw.items()}
    if isinstance(raw, (list, tuple)):
        return [storable(v) for v in raw]
    return raw


def quarantine(conn: Connection, schema: Schema, *, source: str, batch_id: int,
               rows: list[dict[str, Any]]) -> int:
    """Keep failing rows with their raw record and reasons; a row seen again is counted, not copied."""
    if not rows:
        return 0
    _, _, table = schema_tables(schema)
    params = [{"source": source, "batch_id": batch_id, "last_batch_id": batch_id,
               "source_position": storable(r["position"]), "raw_record": storable(r["raw"]),
               "failed_checks": r["checks"], "reason": storable(r["reason"]), "row_hash": raw_hash(r["raw"]),
               "schema_version": schema.version}
              for r in rows]
    stmt = pg_insert(table)
    stmt = stmt.on_conflict_do_update(
        constraint=f"{schema.name}_quarantine_once",
        set_={"last_batch_id": stmt.excluded.last_batch_id, "times_seen": table.c.times_seen + 1,
              "last_seen_at": func.now(), "reason": stmt.excluded.reason,
              "failed_checks": stmt.excluded.failed_checks})
    conn.execute(stmt, params)
    return len(rows)
