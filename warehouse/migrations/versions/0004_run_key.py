"""Keys a run has read but not written (unchanged rows), so a key the source repeats in a later
batch of the same run is found as a duplicate; rows live only while their run does.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS staging")
    op.create_table(
        "run_key",
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("source_position", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "key", name="run_key_pkey"),
        schema="staging", prefixes=["UNLOGGED"],
    )


def downgrade() -> None:
    op.drop_table("run_key", schema="staging")
