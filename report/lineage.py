"""Follow one warehouse row back to where it came from: the row's lineage columns, then the
batch that loaded it (file, sha256, positions, checks run) from ``audit.batch``.

A protected key field (a citizen ID) is looked up by its keyed hash, so an auditor can find a
person's row by the ID without the warehouse ever holding the ID itself.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, and_, select

from schemas import SchemaError, get_schema
from schemas.pii import hashed
from warehouse.tables import LINEAGE, batch, schema_tables

BATCH_FIELDS = ("run_id", "adapter", "file", "file_sha256", "position_start", "position_end", "started_at",
                "ended_at", "status", "rows_read", "rows_quarantined", "gx_statistics")


def lineage(engine: Engine, schema_name: str, key: list[str]) -> dict[str, Any] | None:
    """The row with this natural key (values in the schema's key order) and its batch, or None."""
    schema = get_schema(schema_name)
    if len(key) != len(schema.natural_key):
        raise SchemaError(f"{schema.name}'s key is ({', '.join(schema.natural_key)}): give {len(schema.natural_key)} "
                          f"value(s), not {len(key)}")
    protected = {f.name for f in schema.protected}
    values = [hashed(v) if name in protected else v
              for name, v in zip(schema.natural_key, key)]
    core = schema_tables(schema)[0]
    with engine.connect() as conn:
        row = conn.execute(select(core).where(and_(*(core.c[c] == v for c, v in zip(schema.stored_key, values))))
                           ).mappings().first()
        if row is None:
            return None
        loaded = conn.execute(select(*(batch.c[c] for c in BATCH_FIELDS)).where(batch.c.batch_id == row["batch_id"])
                              ).mappings().first()
    return {"row": {k: v for k, v in row.items() if k not in LINEAGE},
            "lineage": {k: row[k] for k in LINEAGE}, "batch": dict(loaded or {})}
