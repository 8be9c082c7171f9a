"""The warehouse's tables: fixed audit tables, and per schema a core, staging and
quarantine table derived from the schema file.

Every core row carries its lineage (source, batch, position in the source, row hash, when
it was loaded, schema version) so an auditor can follow it back to where it came from.
"""
from __future__ import annotations

from functools import cache

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Column, Date, DateTime, Integer,
                        MetaData, Numeric, PrimaryKeyConstraint, String, Table, Text,
                        UniqueConstraint, func)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from schemas import Field, Schema, all_schemas

PG_SCHEMAS = ("ref", "core", "staging", "quarantine", "audit")
LINEAGE = ("source", "batch_id", "source_position", "row_hash", "loaded_at", "schema_version")

metadata = MetaData()

batch = Table(
    "batch", metadata,
    Column("batch_id", BigInteger, primary_key=True, autoincrement=True),
    Column("run_id", String(36), nullable=False, index=True),
    Column("source", String(63), nullable=False, index=True),
    Column("adapter", String(63), nullable=False),
    Column("schema_name", String(63), nullable=False),
    Column("schema_version", String(15), nullable=False),
    Column("file", Text),
    Column("file_sha256", String(64)),
    Column("position_start", JSONB),
    Column("position_end", JSONB),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("ended_at", DateTime(timezone=True)),
    Column("status", String(16), nullable=False),
    Column("rows_read", BigInteger, nullable=False, server_default="0"),
    Column("rows_inserted", BigInteger, nullable=False, server_default="0"),
    Column("rows_updated", BigInteger, nullable=False, server_default="0"),
    Column("rows_unchanged", BigInteger, nullable=False, server_default="0"),
    Column("rows_quarantined", BigInteger, nullable=False, server_default="0"),
    Column("gx_statistics", JSONB),
    Column("error", Text),
    Column("columns", JSONB),
    Column("profile", JSONB),
    CheckConstraint("status IN ('running', 'succeeded', 'held', 'failed', 'unchanged')", name="batch_status"),
    CheckConstraint("status IN ('running', 'failed') OR "
                    "rows_read = rows_inserted + rows_updated + rows_unchanged + rows_quarantined",
                    name="batch_rows_add_up"),
    schema="audit",
)

watermark = Table(
    "watermark", metadata,
    Column("source", String(63), primary_key=True),
    Column("position", JSONB, nullable=False),
    Column("batch_id", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    schema="audit",
)

schema_version = Table(
    "schema_version", metadata,
    Column("schema_name", String(63), primary_key=True),
    Column("version", String(15), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("definition", JSONB),
    schema="audit",
)

admin_unit = Table(
    "admin_unit", metadata,
    Column("unit_id", BigInteger, primary_key=True, autoincrement=True),
    Column("code", String(8), nullable=False),
    Column("name", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("level", String(10), nullable=False),
    Column("parent_code", String(8)),
    Column("province_code", String(8)),
    Column("era", String(10), nullable=False),
    Column("valid_from", Date),
    Column("valid_to", Date),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("superseded_at", DateTime(timezone=True)),
    schema="ref",
)

admin_unit_crosswalk = Table(
    "admin_unit_crosswalk", metadata,
    Column("level", String(10), primary_key=True),
    Column("legacy_code", String(8), primary_key=True),
    Column("new_code", String(8), primary_key=True),
    Column("is_default", Boolean, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    schema="ref",
)

code_list = Table(
    "code_list", metadata,
    Column("list_name", String(63), primary_key=True),
    Column("code", String(63), primary_key=True),
    Column("label", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    schema="ref",
)

reconciliation = Table(
    "reconciliation", metadata,
    Column("finding_id", BigInteger, primary_key=True, autoincrement=True),
    Column("finding_key", String(32), nullable=False, unique=True),
    Column("check", String(63), nullable=False),
    Column("level", String(10)),
    Column("unit", Text),
    Column("period", Text),
    Column("subject", Text),
    Column("expected", Numeric),
    Column("found", Numeric),
    Column("difference", Numeric),
    Column("status", String(10), nullable=False),
    Column("geography", String(10), nullable=False),
    Column("detail", Text),
    Column("evidence", JSONB),
    Column("run", String(36), nullable=False),
    Column("first_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    schema="audit",
)

indicator = Table(
    "indicator", metadata,
    Column("code", String(32), primary_key=True),
    Column("name", Text, nullable=False),
    Column("unit_of_measure", String(32)),
    Column("additive", Boolean, nullable=False),
    Column("tolerance", Numeric, nullable=False, server_default="0"),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    schema="ref",
)

catalogue_version = Table(
    "catalogue_version", metadata,
    Column("catalogue", String(63), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("content_hash", String(64), nullable=False),
    Column("entries", JSONB, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    schema="audit",
)

catalogue_push = Table(
    "catalogue_push", metadata,
    Column("push_id", BigInteger, primary_key=True, autoincrement=True),
    Column("catalogue", String(63), nullable=False),
    Column("target", String(63), nullable=False),
    Column("from_version", Integer),
    Column("to_version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("http_status", Integer),
    Column("acknowledgement", JSONB),
    Column("pushed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    schema="audit",
)

validation_result = Table(
    "validation_result", metadata,
    Column("batch_id", BigInteger, primary_key=True),
    Column("source", String(63), nullable=False, index=True),
    Column("suite", String(63), nullable=False),
    Column("success", Boolean, nullable=False),
    Column("result", JSONB, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    schema="audit",
)

run_key = Table(
    "run_key", metadata,
    Column("run_id", String(36), nullable=False),
    Column("key", Text, nullable=False),
    Column("source_position", Text, nullable=False),
    PrimaryKeyConstraint("run_id", "key", name="run_key_pkey"),
    schema="staging", prefixes=["UNLOGGED"],
)

SQL_TYPES = {"string": Text, "timestamp": lambda: DateTime(timezone=True), "date": Date,
             "integer": BigInteger, "decimal": Numeric, "boolean": Boolean}


def _columns(f: Field, *, keep_required: bool) -> list[Column]:
    """A field's stored columns: itself, or for a protected field its hash, mask (and raw)."""
    nullable = not (keep_required and f.required)
    if f.protect:
        cols = [Column(f"{f.name}_hash", String(64), nullable=nullable, comment=f"keyed hash of {f.name}"),
                Column(f"{f.name}_masked", String(64), comment=f"{f.name} with most digits masked")]
        if f.keep_raw:
            cols.append(Column(f"{f.name}_raw", Text, comment=f"PRIVILEGED: raw {f.name}"))
        return cols
    kind = String(f.max_length) if f.type == "string" and f.max_length else SQL_TYPES[f.type]()
    return [Column(f.name, kind, nullable=nullable, comment=f.description or None)]


def stored_names(s: Schema) -> list[str]:
    return [c.name for f in s.fields for c in _columns(f, keep_required=False)]


def core_table(s: Schema, md: MetaData) -> Table:
    return Table(
        s.name, md,
        *(c for f in s.fields for c in _columns(f, keep_required=True)),
        Column("source", String(63), nullable=False),
        Column("batch_id", BigInteger, nullable=False, index=True),
        Column("source_position", Text, nullable=False),
        Column("row_hash", String(32), nullable=False),
        Column("loaded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("schema_version", String(15), nullable=False),
        PrimaryKeyConstraint(*s.stored_key, name=f"{s.name}_pkey"),
        schema="core", comment=s.title,
    )


def staging_table(s: Schema, md: MetaData) -> Table:
    """Template of the per-batch staging table (a temporary copy is made per batch)."""
    return Table(
        s.name, md,
        *(c for f in s.fields for c in _columns(f, keep_required=False)),
        Column("source_position", Text, nullable=False),
        schema="staging", prefixes=["UNLOGGED"],
    )


def quarantine_table(s: Schema, md: MetaData) -> Table:
    return Table(
        s.name, md,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("source", String(63), nullable=False),
        Column("batch_id", BigInteger, nullable=False, index=True),
        Column("last_batch_id", BigInteger, nullable=False),
        Column("times_seen", Integer, nullable=False, server_default="1"),
        Column("source_position", Text, nullable=False),
        Column("raw_record", JSONB, nullable=False),
        Column("failed_checks", ARRAY(Text), nullable=False),
        Column("reason", Text, nullable=False),
        Column("row_hash", String(32), nullable=False),
        Column("schema_version", String(15), nullable=False),
        Column("quarantined_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("last_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("loaded_batch_id", BigInteger, comment="the replay batch that loaded it, once it passed"),
        UniqueConstraint("source", "source_position", "row_hash", name=f"{s.name}_quarantine_once"),
        schema="quarantine",
    )


@cache
def schema_tables(s: Schema) -> tuple[Table, Table, Table]:
    """(core, staging, quarantine) of a schema as its file now says, built once per version of the file."""
    md = MetaData()
    return core_table(s, md), staging_table(s, md), quarantine_table(s, md)


def derived_metadata() -> MetaData:
    """A fresh MetaData holding every schema-derived table, for comparison with the database."""
    md = MetaData()
    for s in all_schemas():
        core_table(s, md), staging_table(s, md), quarantine_table(s, md)
    return md

