"""``hub quarantine list`` and ``show``: the quarantined records by source, check and unit.

A record is named ``<schema>-<id>`` (``dossier-12``): each schema has its own quarantine table.
Records are shown masked: a protected field (a citizen ID) is already kept masked, and the
other personal fields a schema marks ``pii`` (names, birth dates) are masked on the way out.
"""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, Engine, exists, func, or_, select

from common.errors import HubError
from pipeline.config import SourceConfig
from schemas import Schema, all_schemas, get_schema
from schemas.pii import mask, scrub
from warehouse.tables import batch, schema_tables

RECORD_ID = re.compile(r"^([a-z][a-z0-9_]*)-(\d+)$")


class QuarantineError(HubError, ValueError):
    """A quarantine record or filter that names nothing."""


def record_id(schema: str, row_id: int) -> str:
    return f"{schema}-{row_id}"


def _check_filter(q, check: str):
    """A check by its full name (``code_list:status``) or by its kind (``code_list``)."""
    if ":" in check:
        return q.c.failed_checks.any(check)
    c = func.unnest(q.c.failed_checks).table_valued("value").render_derived(name="c")
    return exists(select(c.c.value).where(or_(c.c.value == check, c.c.value.startswith(check + ":"))))


def columns_of(schema: Schema, source: SourceConfig | None) -> dict[str, str]:
    """Schema field -> the department's column holding it."""
    inverse = {v: k for k, v in (source.fields if source else {}).items()}
    return {f.name: inverse.get(f.name, f.name) for f in schema.fields}


def unit_field(schema: Schema) -> str | None:
    return next((f.name for f in schema.fields if f.admin_unit_at), None)


def raw_value(raw: Any, column: str) -> Any:
    if not isinstance(raw, dict):
        return None
    if column in raw:
        return raw[column]
    node: Any = raw
    for part in column.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def masked_record(raw: Any, schema: Schema, source: SourceConfig | None) -> Any:
    """The raw record with every personal field masked (protected ones are masked already)."""
    if not isinstance(raw, dict):
        return raw
    out = dict(raw)
    columns = columns_of(schema, source)
    for f in schema.fields:
        col = columns[f.name]
        if f.pii and not f.protect and out.get(col) not in (None, ""):
            out[col] = mask(str(out[col]))
    for key in ("fields", "text"):
        if key in out and schema.fields and any(f.pii for f in schema.fields):
            out[key] = [scrub(str(v)) for v in out[key]] if isinstance(out[key], list) else scrub(str(out[key]))
    return out


def _schemas(only: str | None = None) -> list[Schema]:
    return [get_schema(only)] if only else all_schemas()


def list_records(engine: Engine, sources: dict[str, SourceConfig], *, source: str | None = None,
                 check: str | None = None, unit: str | None = None, include_loaded: bool = False,
                 limit: int = 200) -> list[dict[str, Any]]:
    """Quarantined records, oldest first; ``unit`` is the code in the record's unit field."""
    out = []
    with engine.connect() as conn:
        for schema in _schemas():
            q = schema_tables(schema)[2]
            query = select(q).order_by(q.c.id)
            if source:
                query = query.where(q.c.source == source)
            if check:
                query = query.where(_check_filter(q, check))
            if not include_loaded:
                query = query.where(q.c.loaded_batch_id.is_(None))
            field = unit_field(schema)
            if unit:
                if field is None:
                    continue
                cols = {columns_of(schema, sources.get(s))[field] for s in sources} or {field}
                cols |= {field}
                query = query.where(or_(*(q.c.raw_record[c].astext == unit for c in sorted(cols))))
            for r in conn.execute(query.limit(limit)).mappings():
                config = sources.get(r["source"])
                out.append({"id": record_id(schema.name, r["id"]), "schema": schema.name, "source": r["source"],
                            "checks": list(r["failed_checks"]), "reason": r["reason"],
                            "position": r["source_position"], "batch_id": r["batch_id"],
                            "last_batch_id": r["last_batch_id"], "times_seen": r["times_seen"],
                            "unit": field and raw_value(r["raw_record"], columns_of(schema, config)[field]),
                            "loaded_batch_id": r["loaded_batch_id"]})
    return out[:limit]


def find(conn: Connection, rid: str) -> tuple[Schema, dict[str, Any]]:
    m = RECORD_ID.match(rid.strip())
    if not m:
        raise QuarantineError(f"quarantine record id {rid!r} is not <schema>-<number> (e.g. dossier-12; "
                              "see hub quarantine list)")
    schema = get_schema(m.group(1))
    q = schema_tables(schema)[2]
    row = conn.execute(select(q).where(q.c.id == int(m.group(2)))).mappings().first()
    if row is None:
        raise QuarantineError(f"no quarantine record {rid} (see hub quarantine list)")
    return schema, dict(row)


def show(engine: Engine, sources: dict[str, SourceConfig], rid: str) -> dict[str, Any]:
    """One record, masked: every reason, its position, its batches and how often it was seen."""
    with engine.connect() as conn:
        schema, row = find(conn, rid)
        batches = {b["batch_id"]: dict(b) for b in conn.execute(
            select(batch.c.batch_id, batch.c.status, batch.c.file, batch.c.file_sha256, batch.c.started_at)
            .where(batch.c.batch_id.in_([row["batch_id"], row["last_batch_id"], row["loaded_batch_id"] or 0])))
            .mappings()}
    config = sources.get(row["source"])
    return {"id": record_id(schema.name, row["id"]), "schema": schema.name, "schema_version": row["schema_version"],
            "source": row["source"], "position": row["source_position"],
            "checks": list(row["failed_checks"]), "reasons": row["reason"].split("; "),
            "times_seen": row["times_seen"], "first_seen": row["quarantined_at"], "last_seen": row["last_seen_at"],
            "first_batch": batches.get(row["batch_id"]), "last_batch": batches.get(row["last_batch_id"]),
            "loaded_by_batch": batches.get(row["loaded_batch_id"]) if row["loaded_batch_id"] else None,
            "record": masked_record(row["raw_record"], schema, config)}
