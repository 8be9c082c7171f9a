"""What the auditors' report reads beyond the counts: the columns each batch arrived with and
its fields' profile (schema and distribution pillars), and the Great Expectations results kept
for Data Docs (the last N per source).

Revision ID: 0006_report
Revises: 0004
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006_report"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("batch", sa.Column("columns", JSONB, comment="the columns the source sent, in order"),
                  schema="audit")
    op.add_column("batch", sa.Column("profile", JSONB, comment="per field: rows, nulls, distinct values"),
                  schema="audit")
    op.create_table(
        "validation_result",
        sa.Column("batch_id", sa.BigInteger, primary_key=True),
        sa.Column("source", sa.String(63), nullable=False, index=True),
        sa.Column("suite", sa.String(63), nullable=False),
        sa.Column("success", sa.Boolean, nullable=False),
        sa.Column("result", JSONB, nullable=False, comment="Great Expectations' validation result, no values"),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="audit",
    )


def downgrade() -> None:
    op.drop_table("validation_result", schema="audit")
    op.drop_column("batch", "profile", schema="audit")
    op.drop_column("batch", "columns", schema="audit")
