"""The warehouse's PostgreSQL schemas and the audit tables.

Written out in full, not imported from warehouse.tables: a migration is a frozen record of
what the database looked like at that revision. Schema-derived tables (core, staging,
quarantine) are not here; warehouse.migrate derives them from the schema files.

Revision ID: 0001
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMAS = ("ref", "core", "staging", "quarantine", "audit")


def upgrade() -> None:
    for name in SCHEMAS:
        op.execute(sa.schema.CreateSchema(name, if_not_exists=True))
    now = sa.func.now()
    op.create_table(
        "batch",
        sa.Column("batch_id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(36), nullable=False, index=True),
        sa.Column("source", sa.String(63), nullable=False, index=True),
        sa.Column("adapter", sa.String(63), nullable=False),
        sa.Column("schema_name", sa.String(63), nullable=False),
        sa.Column("schema_version", sa.String(15), nullable=False),
        sa.Column("file", sa.Text),
        sa.Column("file_sha256", sa.String(64)),
        sa.Column("position_start", JSONB),
        sa.Column("position_end", JSONB),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(16), nullable=False),
        *(sa.Column(f"rows_{k}", sa.BigInteger, nullable=False, server_default="0")
          for k in ("read", "inserted", "updated", "unchanged", "quarantined")),
        sa.Column("gx_statistics", JSONB),
        sa.Column("error", sa.Text),
        sa.CheckConstraint("status IN ('running', 'succeeded', 'held', 'failed', 'unchanged')",
                           name="batch_status"),
        sa.CheckConstraint("status IN ('running', 'failed') OR "
                           "rows_read = rows_inserted + rows_updated + rows_unchanged + rows_quarantined",
                           name="batch_rows_add_up"),
        schema="audit",
    )
    op.create_table(
        "watermark",
        sa.Column("source", sa.String(63), primary_key=True),
        sa.Column("position", JSONB, nullable=False),
        sa.Column("batch_id", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        schema="audit",
    )
    op.create_table(
        "schema_version",
        sa.Column("schema_name", sa.String(63), primary_key=True),
        sa.Column("version", sa.String(15), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        schema="audit",
    )


def downgrade() -> None:
    for table in ("schema_version", "watermark", "batch"):
        op.drop_table(table, schema="audit")
