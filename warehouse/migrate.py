"""``hub warehouse upgrade``: the Alembic revisions, then the schema-derived tables.

The fixed tables (audit) evolve through written Alembic revisions. The core, staging and
quarantine tables are derived from the schema files, so they evolve by comparison: Alembic's
autogenerate compares the tables the schema files describe with the database and this
module applies what is safe on its own (a new table, a new nullable column, a comment).
Anything else (a dropped or retyped column, a field made required) is a major schema change
and stops the upgrade with the list of differences: that needs a written revision.
"""
from __future__ import annotations

from common.errors import HubError

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.schema import CreateSchema
from sqlalchemy.dialects.postgresql import insert

from schemas import all_schemas
from warehouse.load import rehash
from warehouse.tables import derived_metadata, schema_version

DERIVED_SCHEMAS = {"core", "staging", "quarantine"}
LOCK_KEY = 0x6C69656E  # one advisory lock so parallel tasks don't migrate at once


class MigrationError(HubError, RuntimeError):
    """The schema files changed in a way that can't be applied without a written revision."""


def alembic_config(connection: Connection | None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "warehouse:migrations")
    cfg.attributes["connection"] = connection
    return cfg


def _in_derived(name, type_, parent_names) -> bool:
    if type_ == "schema":
        return name in DERIVED_SCHEMAS
    if type_ == "table":
        return parent_names.get("schema_name") in DERIVED_SCHEMAS
    return True


def _flatten(diffs):
    for d in diffs:
        if isinstance(d, list):  # column-level modifications come grouped
            yield from d
        else:
            yield d


def sync_derived_tables(conn: Connection) -> list[str]:
    """Bring the derived tables in line with the schema files; return what was done."""
    md = derived_metadata()
    ctx = MigrationContext.configure(conn, opts={"include_schemas": True, "include_name": _in_derived,
                                                 "compare_type": True})
    ops = Operations(ctx)
    done, refused, widened = [], [], set()
    for diff in _flatten(compare_metadata(ctx, md)):
        kind = diff[0]
        if kind == "add_table":
            diff[1].create(conn)
            done.append(f"created {diff[1].fullname}")
        elif kind == "add_column" and diff[3].nullable:
            _, schema, table, column = diff
            ops.add_column(table, column.copy(), schema=schema)
            done.append(f"added {schema}.{table}.{column.name}")
            if schema == "core":
                widened.add(table)
        elif kind == "add_index":
            diff[1].create(conn)
            done.append(f"created index {diff[1].name}")
        elif kind in ("modify_comment", "modify_table_comment", "remove_table"):
            continue  # comments are documentation; a table whose schema file went away is kept
        else:
            refused.append(repr(diff[:4] if isinstance(diff, tuple) else diff))
    if refused:
        raise MigrationError("schema files changed incompatibly with the warehouse (a major version "
                             "needs a written Alembic revision): " + "; ".join(refused))
    for s in all_schemas():
        if s.name in widened:
            rehash(conn, s)
    return done


def upgrade(engine: Engine) -> list[str]:
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
        conn.execute(CreateSchema("audit", if_not_exists=True))  # holds Alembic's version table
        command.upgrade(alembic_config(conn), "head")
        schemas = all_schemas()
        applied = {r.schema_name: r for r in conn.execute(select(schema_version))}
        for s in schemas:
            check_version(s, applied.get(s.name))
        done = sync_derived_tables(conn)
        rows = [{"schema_name": s.name, "version": s.version, "definition": s.definition()} for s in schemas]
        stmt = insert(schema_version).values(rows)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["schema_name"],
            set_={"version": stmt.excluded.version, "definition": stmt.excluded.definition,
                  "applied_at": stmt.excluded.applied_at},
            where=schema_version.c.definition.is_distinct_from(stmt.excluded.definition)
            | (schema_version.c.version != stmt.excluded.version)))
    return done


def change_kind(old: dict, new: dict) -> tuple[str, list[str]]:
    """'none', 'minor' (only optional fields added) or 'major', with what changed."""
    old_f, new_f = old.get("fields", {}), new.get("fields", {})
    added = [n for n in new_f if n not in old_f]
    changes = [f"field {n} removed" for n in old_f if n not in new_f]
    changes += [f"field {n} changed" for n in old_f if n in new_f and old_f[n] != new_f[n]]
    changes += [f"required field {n} added" for n in added if new_f[n].get("required")]
    if old.get("natural_key") != new.get("natural_key"):
        changes.append("natural key changed")
    if changes:
        return "major", changes
    return ("minor", [f"optional field {n} added" for n in added]) if added else ("none", [])


def check_version(schema, applied) -> None:
    """A schema file's version must say what kind of change it made since it was last applied."""
    if applied is None or not applied.definition:
        return
    kind, changes = change_kind(applied.definition, schema.definition())
    old = tuple(int(x) for x in applied.version.split("."))
    new = tuple(int(x) for x in schema.version.split("."))
    if kind == "none" or (kind == "minor" and new > old) or (kind == "major" and new[0] > old[0]):
        return
    need = f"{old[0]}.{old[1] + 1}" if kind == "minor" else f"{old[0] + 1}.0"
    raise MigrationError(f"schema {schema.name} changed ({'; '.join(changes)}) but its version is "
                         f"{schema.version} (was {applied.version}): a {kind} change needs version {need} or later")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table_schema": "audit"}).get_current_revision()




def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(None)).get_current_head()


def require_tables(engine: Engine) -> None:
    """For commands that only read: the warehouse must exist at this code's revision; they never
    create or migrate it (a reader may hold no right to, and a report must not change what it reports)."""
    from warehouse.connect import where

    current = current_revision(engine)
    if current is None:
        raise MigrationError(f"the warehouse at {where(engine.url)} has no tables yet: "
                             "run `hub warehouse upgrade` or `hub run` first")
    if current != head_revision():
        raise MigrationError(f"the warehouse at {where(engine.url)} is at revision {current}, this hub needs "
                             f"{head_revision()}: run `hub warehouse upgrade` first")
