"""The operations centre's figures: the ``mart`` schema and its ``kpi_*`` tables.

Revision ID: 0007_kpi
Revises: 0009_digest
Create Date: 2026-12-07
"""
from alembic import op

revision = "0007_kpi"
down_revision = "0009_digest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from kpi.tables import metadata

    op.execute("CREATE SCHEMA IF NOT EXISTS mart")
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    from kpi.tables import metadata

    metadata.drop_all(op.get_bind())
    op.execute("DROP SCHEMA IF EXISTS mart")
