"""Reference data (administrative units through time, the reform crosswalk, code lists) and schema definitions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the schema file as last applied, so a change can be told minor or major
    op.add_column("schema_version", sa.Column("definition", JSONB), schema="audit")
    op.create_table(
        "admin_unit",
        sa.Column("unit_id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(8), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("parent_code", sa.String(8)),
        sa.Column("province_code", sa.String(8)),
        sa.Column("era", sa.String(10), nullable=False),
        sa.Column("valid_from", sa.Date),
        sa.Column("valid_to", sa.Date),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("superseded_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("level IN ('central', 'province', 'district', 'commune')", name="admin_unit_level"),
        sa.CheckConstraint("valid_from IS NULL OR valid_to IS NULL OR valid_from <= valid_to",
                           name="admin_unit_interval"),
        schema="ref",
        comment="Every administrative unit at the four levels with its validity; NULL bounds are open.",
    )
    op.create_index("admin_unit_code_at", "admin_unit", ["code", "valid_from"], schema="ref")
    op.create_index("admin_unit_current_version", "admin_unit", ["code", "level", "era", "valid_from"],
                    unique=True, schema="ref", postgresql_where=sa.text("superseded_at IS NULL"),
                    postgresql_nulls_not_distinct=True)
    op.create_table(
        "admin_unit_crosswalk",
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("legacy_code", sa.String(8), nullable=False),
        sa.Column("new_code", sa.String(8), nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("level", "legacy_code", "new_code"),
        schema="ref",
        comment="Legacy unit -> 2025 unit; a divided legacy commune has one default successor.",
    )
    op.create_table(
        "code_list",
        sa.Column("list_name", sa.String(63), nullable=False),
        sa.Column("code", sa.String(63), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("list_name", "code"),
        schema="ref",
        comment="Shared code lists (dossier status, document type, benefit type, ...) the checks read.",
    )


def downgrade() -> None:
    op.drop_column("schema_version", "definition", schema="audit")
    op.drop_table("code_list", schema="ref")
    op.drop_table("admin_unit_crosswalk", schema="ref")
    op.drop_table("admin_unit", schema="ref")
