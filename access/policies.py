"""``hub access sync``: the registry into the warehouse, enforced by PostgreSQL itself.

One group role per department; privileges per role; a row-level policy on every ``core`` table;
one ``mart`` view per schema. The policy is the only place a row's visibility is decided, for a
department's SQL users and for the API alike (the API sets its role to the caller's department).

A department sees the rows of the sources it owns, and the rows whose administrative unit lies
inside its units at the row's own date: the row's date says which era its unit code belongs to
(codes were reused by the reform), and ``access.my_unit`` lists the caller's (code, era) pairs,
the units below them and, for a 2025 unit, the legacy units it took over. Each is read by an
uncorrelated subquery, which PostgreSQL evaluates once per query (per worker) and probes as a
hash; nothing in them is parallel-restricted, so a department's query keeps its parallel workers.

Mart views are ``security_invoker`` (the caller's privileges and policies apply, not the view
owner's) and leave out raw personal data: a protected field appears as its mask and keyed hash,
other personal fields (names, birth dates) not at all. Departments get SELECT on exactly the
core columns their mart view shows, so reading ``core`` directly shows them nothing more.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from access.departments import Registry
from access.roles import ADMIN, AUDITOR, LOADER, ensure_fixed_roles, literal, quote, quote_all
from refdata.admin_units import REFORM
from schemas import Schema, all_schemas
from warehouse.tables import schema_tables

LINEAGE_SHOWN = ("source", "loaded_at", "schema_version")
WRITTEN_BY_LOADER = ("core", "quarantine", "audit", "staging")


@dataclass(frozen=True)
class SyncResult:
    departments: int
    roles_created: list[str]
    roles_dropped: list[str]
    tables: int


def mart_columns(schema: Schema) -> list[str]:
    """The columns a department may read, in the view's order: the contract they code against."""
    cols: list[str] = []
    for f in schema.fields:
        if f.protect:
            cols += [f"{f.name}_masked", f"{f.name}_hash"]
        elif not f.pii:
            cols.append(f.name)
    return cols + list(LINEAGE_SHOWN)


def unit_field(schema: Schema):
    """The field naming the row's administrative unit (read at the date in its admin_unit_at)."""
    return next((f for f in schema.fields if f.admin_unit_at), None)


def row_policy(conn: Connection, schema: Schema) -> str:
    """The USING expression of a core table's department policy (identifiers quoted, no input)."""
    # The guard is computed once (an InitPlan): a department that owns no source skips the probe.
    owned = "((SELECT EXISTS (SELECT FROM access.my_source)) AND source IN (SELECT source FROM access.my_source))"
    unit = unit_field(schema)
    if unit is None:
        return owned
    at = schema.field(unit.admin_unit_at)
    reform = (f"TIMESTAMPTZ '{REFORM:%Y-%m-%d} 00:00:00+07'" if at.type == "timestamp"
              else f"DATE '{REFORM:%Y-%m-%d}'")
    code = quote(conn, unit.name)
    return (f"{owned} OR CASE WHEN {quote(conn, at.name)} < {reform} "  # noqa: S608 - identifiers quoted by the server's rules and taken from schema files; values bound
            f"THEN {code} IN (SELECT code FROM access.my_unit WHERE era = 'legacy') "
            f"ELSE {code} IN (SELECT code FROM access.my_unit WHERE era = '2025') END")


def sync(engine: Engine, registry: Registry) -> SyncResult:
    """Bring roles, grants, policies and mart views in step with the registry, in one transaction."""
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('lienthong access sync', 0))"))
        ensure_fixed_roles(conn)
        created, dropped = _department_roles(conn, registry)
        _registry_tables(conn, registry)
        readers = [d.role for d in registry.departments.values()] + [AUDITOR, ADMIN]
        _grants(conn, readers)
        schemas = all_schemas()
        for s in schemas:
            _table(conn, s, readers, shared=s.name in registry.shared_datasets)
        for table in ("access.department", "access.department_unit", "access.department_source",
                      "ref.admin_unit", "ref.admin_unit_crosswalk"):  # the policies' subqueries plan on these
            conn.exec_driver_sql(f"ANALYZE {table}")
    return SyncResult(len(registry.departments), created, dropped, len(schemas))


def _department_roles(conn: Connection, registry: Registry) -> tuple[list[str], list[str]]:
    existing = set(conn.execute(text("SELECT rolname FROM pg_roles WHERE rolname LIKE 'dept\\_%'")).scalars())
    wanted = {d.role for d in registry.departments.values()}
    created = sorted(wanted - existing)
    for role in created:
        conn.exec_driver_sql(f"CREATE ROLE {quote(conn, role)} NOLOGIN")
    for role in sorted(wanted):  # the API's server role takes the department's identity per request
        conn.exec_driver_sql(f"GRANT {quote(conn, role)} TO {quote(conn, ADMIN)} WITH INHERIT FALSE, SET TRUE")
    # Roles belong to the whole cluster, which other databases may share: a role no registry names
    # is dropped only when it owns and holds nothing in any database (DROP ROLE refuses otherwise).
    gone = sorted(r for r in existing - wanted
                  if conn.execute(text("SELECT code FROM access.department WHERE role_name = :r"), {"r": r}).first())
    dropped = []
    for role in gone:
        conn.exec_driver_sql(f"REVOKE ALL ON ALL TABLES IN SCHEMA core, mart, ref, access FROM {quote(conn, role)}")
        conn.exec_driver_sql(f"REVOKE USAGE ON SCHEMA core, mart, ref, access FROM {quote(conn, role)}")
        conn.exec_driver_sql("SAVEPOINT drop_role")
        try:
            conn.exec_driver_sql(f"DROP ROLE {quote(conn, role)}")
            conn.exec_driver_sql("RELEASE SAVEPOINT drop_role")
            dropped.append(role)
        except Exception:  # still used elsewhere in the cluster: its privileges here are gone
            conn.exec_driver_sql("ROLLBACK TO SAVEPOINT drop_role")
    return created, dropped


def _registry_tables(conn: Connection, registry: Registry) -> None:
    conn.execute(text("DELETE FROM access.department"))  # units and sources cascade
    conn.execute(text("DELETE FROM access.shared_dataset"))
    for d in registry.departments.values():
        conn.execute(text("INSERT INTO access.department (code, name, level, role_name) VALUES (:c, :n, :l, :r)"),
                     {"c": d.code, "n": d.name, "l": d.level, "r": d.role})
        for u in d.units:
            conn.execute(text("INSERT INTO access.department_unit VALUES (:d, :c, :e)"),
                         {"d": d.code, "c": u.code, "e": u.era})
        for s in d.sources:
            conn.execute(text("INSERT INTO access.department_source (source, department) VALUES (:s, :d)"),
                         {"s": s, "d": d.code})
    for ds in registry.shared_datasets:
        conn.execute(text("INSERT INTO access.shared_dataset VALUES (:d)"), {"d": ds})


def _grants(conn: Connection, readers: list[str]) -> None:
    everyone = quote_all(conn, readers)
    loader, auditor = quote(conn, LOADER), quote(conn, AUDITOR)
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA core, mart, ref, access TO {everyone}")
    conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA ref TO {everyone}")
    conn.exec_driver_sql(f"GRANT SELECT ON access.my_unit, access.my_source, access.shared_dataset TO {everyone}")
    for schema in WRITTEN_BY_LOADER:
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {loader}")
        conn.exec_driver_sql(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {loader}")
        conn.exec_driver_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {loader}")
        conn.exec_driver_sql(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
                             f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {loader}")
        conn.exec_driver_sql(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {loader}")
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA ref, access TO {loader}")
    conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA ref, access TO {loader}")
    conn.exec_driver_sql(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON audit.access_log FROM {loader}")
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA audit, quarantine TO {auditor}")
    conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA audit TO {auditor}")
    admin = quote(conn, ADMIN)
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA audit TO {admin}")
    conn.exec_driver_sql(f"GRANT SELECT, INSERT ON audit.access_log TO {admin}")
    conn.exec_driver_sql(f"GRANT USAGE ON SEQUENCE audit.access_log_log_id_seq TO {admin}")
    conn.exec_driver_sql(f"GRANT SELECT ON audit.batch TO {admin}")
    conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA access TO {admin}")


def _table(conn: Connection, schema: Schema, readers: list[str], *, shared: bool) -> None:
    core, _, quarantine = schema_tables(schema)
    table = f"core.{quote(conn, core.name)}"
    everyone = quote_all(conn, readers)
    quoted = quote_all(conn, mart_columns(schema))
    conn.exec_driver_sql(f"REVOKE ALL ON {table} FROM {everyone}")
    conn.exec_driver_sql(f"GRANT SELECT ({quoted}) ON {table} TO {everyone}")
    conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    for name in ("department_rows", "shared_rows", "auditor_rows"):
        conn.exec_driver_sql(f"DROP POLICY IF EXISTS {name} ON {table}")
    conn.exec_driver_sql(f"CREATE POLICY department_rows ON {table} FOR SELECT TO PUBLIC "
                         f"USING ({row_policy(conn, schema)})")
    conn.exec_driver_sql(f"CREATE POLICY auditor_rows ON {table} FOR SELECT TO {quote(conn, AUDITOR)} USING (true)")
    if shared:
        conn.exec_driver_sql(f"CREATE POLICY shared_rows ON {table} FOR SELECT TO PUBLIC USING (true)")
    view = f"mart.{quote(conn, schema.name)}"
    conn.exec_driver_sql(f"CREATE OR REPLACE VIEW {view} WITH (security_invoker = true) AS "  # noqa: S608 - identifiers quoted by the server's rules and taken from schema files; values bound
                         f"SELECT {quoted} FROM {table}")
    conn.exec_driver_sql(f"GRANT SELECT ON {view} TO {everyone}")
    conn.exec_driver_sql(f"COMMENT ON VIEW {view} IS {literal(f'{schema.title} (schema {schema.version})')}")
    # The auditor reads quarantine's reasons and positions, not the raw records (personal data).
    qcols = quote_all(conn, (c.name for c in quarantine.columns if c.name != "raw_record"))
    qtable = f"quarantine.{quote(conn, quarantine.name)}"
    conn.exec_driver_sql(f"REVOKE ALL ON {qtable} FROM {quote(conn, AUDITOR)}")
    conn.exec_driver_sql(f"GRANT SELECT ({qcols}) ON {qtable} TO {quote(conn, AUDITOR)}")
