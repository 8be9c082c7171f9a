"""What the last upgrade left the warehouse as (a fingerprint, so a run checks one row instead of
reflecting every table), and the digest of each raw record a source loaded (so a rerun skips the
records that did not change before mapping and validating them).

Revision ID: 0005
Revises: 0006_report
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_digest"
down_revision = "0006_report"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upgrade_fingerprint",
        sa.Column("id", sa.SmallInteger, primary_key=True, server_default="1"),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("id = 1", name="upgrade_fingerprint_one_row"),
        schema="audit",
    )
    op.create_table(
        "record_digest",
        sa.Column("source", sa.String(63), nullable=False),
        sa.Column("ordinal", sa.BigInteger, nullable=False),
        sa.Column("digest", sa.LargeBinary, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("source", "ordinal", name="record_digest_pkey"),
        schema="staging",
    )
    op.create_index("record_digest_key", "record_digest", ["key"], schema="staging")


def downgrade() -> None:
    op.drop_table("record_digest", schema="staging")
    op.drop_table("upgrade_fingerprint", schema="audit")
