"""Reconciliation findings between the levels, the indicator catalogue, and the versioned
catalogue feeds the hub publishes to the levels (with each push's acknowledgement).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reconciliation",
        sa.Column("finding_id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("finding_key", sa.String(32), nullable=False, unique=True),
        sa.Column("check", sa.String(63), nullable=False),
        sa.Column("level", sa.String(10)),
        sa.Column("unit", sa.Text),
        sa.Column("period", sa.Text, comment="period, month, or document id"),
        sa.Column("subject", sa.Text, comment="indicator, metric, recipient or person (hash)"),
        sa.Column("expected", sa.Numeric),
        sa.Column("found", sa.Numeric),
        sa.Column("difference", sa.Numeric),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("geography", sa.String(10), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("evidence", JSONB),
        sa.Column("run", sa.String(36), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('open', 'resolved')", name="reconciliation_status"),
        schema="audit",
    )
    op.create_index("reconciliation_check_status", "reconciliation", ["check", "status"], schema="audit")
    op.create_table(
        "indicator",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("unit_of_measure", sa.String(32)),
        sa.Column("additive", sa.Boolean, nullable=False),
        sa.Column("tolerance", sa.Numeric, nullable=False, server_default="0"),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="ref",
        comment="The province's indicator catalogue: which indicators add up from children, and how closely.",
    )


    op.create_table(
        "catalogue_version",
        sa.Column("catalogue", sa.String(63), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("entries", JSONB, nullable=False, comment="code -> entry, the full snapshot"),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="audit",
    )
    op.create_table(
        "catalogue_push",
        sa.Column("push_id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("catalogue", sa.String(63), nullable=False),
        sa.Column("target", sa.String(63), nullable=False),
        sa.Column("from_version", sa.Integer),
        sa.Column("to_version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("acknowledgement", JSONB),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="audit",
    )


def downgrade() -> None:
    op.drop_table("catalogue_push", schema="audit")
    op.drop_table("catalogue_version", schema="audit")
    op.drop_table("indicator", schema="ref")
    op.drop_table("reconciliation", schema="audit")
