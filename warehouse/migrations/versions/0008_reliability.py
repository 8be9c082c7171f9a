"""A batch whose process died is closed as ``abandoned`` by the next run of its source.

Revision ID: 0008
Revises: 0005_access
Create Date: 2026-12-07
"""
from alembic import op

revision = "0008_reliability"
down_revision = "0005_access"
branch_labels = None
depends_on = None

STATUSES = ("running", "succeeded", "held", "failed", "unchanged")


def _status_check(statuses) -> None:
    op.drop_constraint("batch_status", "batch", schema="audit", type_="check")
    op.create_check_constraint("batch_status", "batch", "status IN (%s)" % ", ".join(f"'{s}'" for s in statuses),
                               schema="audit")
    op.drop_constraint("batch_rows_add_up", "batch", schema="audit", type_="check")
    unfinished = ", ".join(f"'{s}'" for s in ("running", "failed", "abandoned") if s in statuses)
    op.create_check_constraint("batch_rows_add_up", "batch", f"status IN ({unfinished}) OR "
                               "rows_read = rows_inserted + rows_updated + rows_unchanged + rows_quarantined",
                               schema="audit")


def upgrade() -> None:
    _status_check(STATUSES + ("abandoned",))


def downgrade() -> None:
    op.execute("UPDATE audit.batch SET status = 'failed' WHERE status = 'abandoned'")
    _status_check(STATUSES)
