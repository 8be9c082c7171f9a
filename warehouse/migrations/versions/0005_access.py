"""Departments' access: the registry as tables, data-sharing requests and their tokens, the fixed
roles, the ``mart`` schema, and the hash-chained ``audit.access_log``.

The chain is kept by the database: a trigger serialises inserts, numbers the row after taking
the lock (so the order of ids is the order of the chain) and writes the sha256 of the row's
content and of the previous row's hash; updates and deletes are refused. ``hub access
verify-log`` recomputes the chain with the same function and names any row that breaks it.

Revision ID: 0005_access
Revises: 0007_kpi
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005_access"
down_revision = "0007_kpi"
branch_labels = None
depends_on = None

FIXED_ROLES = ("lienthong_loader", "lienthong_auditor", "lienthong_admin")

LOG_CONTENT = """
CREATE FUNCTION audit.access_log_content(r audit.access_log) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_array(r.log_id, to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                           r.actor, r.action, r.dataset, r.filters, r.rows_returned, r.status, r.detail,
                           r.prev_hash)::text
$$"""

LOG_CHAIN = """
CREATE FUNCTION audit.access_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    RAISE EXCEPTION 'audit.access_log is append-only';
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended('audit.access_log', 0));
  NEW.log_id := nextval('audit.access_log_log_id_seq');
  NEW.at := clock_timestamp();
  NEW.prev_hash := coalesce((SELECT row_hash FROM audit.access_log ORDER BY log_id DESC LIMIT 1),
                            repeat('0', 64));
  NEW.row_hash := encode(sha256(convert_to(audit.access_log_content(NEW), 'UTF8')), 'hex');
  RETURN NEW;
END $$"""


def upgrade() -> None:
    for role in FIXED_ROLES:
        op.execute(f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
              CREATE ROLE {role} LOGIN NOINHERIT;
            END IF; END $$""")  # constant names, no input
    op.execute("CREATE SCHEMA IF NOT EXISTS access")
    op.execute("CREATE SCHEMA IF NOT EXISTS mart")
    op.create_table(
        "department", sa.Column("code", sa.String(41), primary_key=True),
        sa.Column("name", sa.Text, nullable=False), sa.Column("level", sa.String(10), nullable=False),
        sa.Column("role_name", sa.String(63), nullable=False, unique=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("level IN ('province', 'district', 'commune')", name="department_level"),
        schema="access")
    op.create_table(
        "department_unit",
        sa.Column("department", sa.String(41), sa.ForeignKey("access.department.code", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("unit_code", sa.String(8), primary_key=True), sa.Column("era", sa.String(10), primary_key=True),
        sa.CheckConstraint("era IN ('legacy', '2025')", name="department_unit_era"), schema="access")
    op.create_table(
        "department_source",
        sa.Column("source", sa.String(63), primary_key=True),
        sa.Column("department", sa.String(41), sa.ForeignKey("access.department.code", ondelete="CASCADE"),
                  nullable=False), schema="access")
    op.create_table("shared_dataset", sa.Column("dataset", sa.String(63), primary_key=True), schema="access")
    op.create_table(
        "request", sa.Column("request_id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("department", sa.String(41), nullable=False), sa.Column("dataset", sa.String(63), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default="pending"),
        sa.Column("decided_at", sa.DateTime(timezone=True)), sa.Column("reason", sa.Text),
        sa.CheckConstraint("status IN ('pending', 'approved', 'refused', 'revoked')", name="request_status"),
        sa.CheckConstraint("status <> 'refused' OR length(btrim(reason)) > 0", name="request_refused_has_reason"),
        sa.CheckConstraint("length(btrim(purpose)) > 0", name="request_has_purpose"),
        sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="request_decided"),
        schema="access")
    op.create_table(
        "token", sa.Column("token_id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.BigInteger, sa.ForeignKey("access.request.request_id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("expires_at > issued_at", name="token_expires"),
        sa.CheckConstraint("token_hash ~ '^[0-9a-f]{64}$'", name="token_is_a_hash"),
        schema="access")
    op.execute("CREATE SEQUENCE audit.access_log_log_id_seq")  # drawn by the trigger, under the lock
    op.create_table(
        "access_log", sa.Column("log_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.clock_timestamp()),
        sa.Column("actor", sa.Text, nullable=False), sa.Column("action", sa.String(32), nullable=False),
        sa.Column("dataset", sa.String(63)), sa.Column("filters", JSONB),
        sa.Column("rows_returned", sa.BigInteger), sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("prev_hash", sa.String(64), nullable=False, server_default=""),
        sa.Column("row_hash", sa.String(64), nullable=False, server_default=""),
        schema="audit")
    op.execute(LOG_CONTENT)
    op.execute(LOG_CHAIN)
    op.execute("CREATE TRIGGER access_log_chain BEFORE INSERT OR UPDATE OR DELETE ON audit.access_log "
               "FOR EACH ROW EXECUTE FUNCTION audit.access_log_chain()")
    op.execute("CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON audit.access_log "
               "FOR EACH STATEMENT EXECUTE FUNCTION audit.access_log_chain()")
    # What the row-level policies read, once per query (uncorrelated, hashed subqueries):
    # the sources the caller's departments own, and the (unit, era) pairs they govern, with the
    # legacy units a 2025 unit took over (the crosswalk's default successor) and every unit below.
    op.execute("""
CREATE VIEW access.my_source AS
  SELECT s.source FROM access.department_source s JOIN access.department d ON d.code = s.department
  WHERE pg_has_role(d.role_name, 'MEMBER')""")
    # Written out to the depth the administrative levels have (a province has at most two levels
    # below it: districts and communes before the reform, communes after), not as a recursive CTE:
    # a recursive CTE is parallel-restricted, and the policy must not cost the query its workers.
    op.execute("""
CREATE VIEW access.my_unit AS
WITH mine AS NOT MATERIALIZED (
  SELECT u.unit_code::text AS code, u.era::text AS era
  FROM access.department d JOIN access.department_unit u ON u.department = d.code
  WHERE pg_has_role(d.role_name, 'MEMBER')
), roots AS NOT MATERIALIZED (
  SELECT code, era FROM mine
  UNION ALL
  SELECT x.legacy_code::text, 'legacy' FROM mine m
  JOIN ref.admin_unit_crosswalk x ON x.new_code = m.code AND x.is_default
  WHERE m.era = '2025'
), unit AS NOT MATERIALIZED (
  SELECT code::text, era::text, parent_code::text FROM ref.admin_unit WHERE superseded_at IS NULL
)
SELECT code, era FROM roots
UNION ALL
SELECT c.code, c.era FROM roots r JOIN unit c ON c.parent_code = r.code AND c.era = r.era
UNION ALL
SELECT g.code, g.era FROM roots r JOIN unit c ON c.parent_code = r.code AND c.era = r.era
JOIN unit g ON g.parent_code = c.code AND g.era = c.era""")


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS access.my_unit")
    op.execute("DROP VIEW IF EXISTS access.my_source")
    op.drop_table("access_log", schema="audit")
    op.execute("DROP SEQUENCE IF EXISTS audit.access_log_log_id_seq")
    op.execute("DROP FUNCTION IF EXISTS audit.access_log_chain()")
    op.execute("DROP FUNCTION IF EXISTS audit.access_log_content(audit.access_log)")
    for table in ("token", "request", "shared_dataset", "department_source", "department_unit",
                  "department"):
        op.drop_table(table, schema="access")
    op.execute("DROP SCHEMA IF EXISTS mart CASCADE")
    op.execute("DROP SCHEMA IF EXISTS access")
