"""PostgreSQL roles: the three fixed ones, and the LOGIN users of departments' group roles.

Roles log in with passwords, so they work whether the server trusts its socket or asks for
scram: a fixed role's password comes from ``HUB_<ROLE>_PASSWORD`` (``HUB_LIENTHONG_LOADER_PASSWORD``)
or is made once in ``$HUB_HOME/secrets/<role>.password`` (mode 600) and set by ``hub access sync``.
A department user's password is shown once, when it is granted, and kept nowhere by the hub.
Role names are identifiers: a name is checked against a plain pattern and then quoted, never
formatted in from input as it came.
"""
from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from common.errors import HubError

LOADER, AUDITOR, ADMIN = "lienthong_loader", "lienthong_auditor", "lienthong_admin"
FIXED = (LOADER, AUDITOR, ADMIN)
USER_RE = re.compile(r"^[a-z][a-z0-9_]{2,62}$")


class RoleError(HubError, ValueError):
    """A role name that is not allowed, or a role that does not exist."""


def quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(name)


def quote_all(conn: Connection, names) -> str:
    """Identifiers quoted and joined by commas: a column list, a role list."""
    return ", ".join(quote(conn, n) for n in names)


def literal(value: str) -> str:
    """A string literal for the utility statements that take no bound parameters (ALTER ROLE)."""
    return "'" + value.replace("'", "''") + "'"


def secrets_dir() -> Path:
    return Path(os.environ.get("HUB_HOME", ".hub")).resolve() / "secrets"


def fixed_password(role: str) -> str:
    """The fixed role's password: from the environment, else the file (made once)."""
    env = os.environ.get(f"HUB_{role.upper()}_PASSWORD")
    if env:
        return env
    path = secrets_dir() / f"{role}.password"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(24))
    return path.read_text().strip()


def has_role_setup(conn: Connection) -> bool:
    """Whether ``hub access sync`` has run on this database (the fixed roles carry their grants)."""
    return bool(conn.execute(text("SELECT to_regclass('access.department') IS NOT NULL AND EXISTS "
                                  "(SELECT FROM access.department_source UNION ALL SELECT FROM access.department)"))
                .scalar())


def role_url(engine: Engine, role: str, password: str) -> str:
    """The warehouse's URL (same host or socket, same database) as another role."""
    return make_url(engine.url).set(username=role, password=password).render_as_string(hide_password=False)


def role_engine(engine: Engine, role: str):
    """An engine connecting as a fixed role (``hub serve`` as lienthong_admin)."""
    from warehouse.connect import get_engine

    return get_engine(role_url(engine, role, fixed_password(role)))


def as_loader(engine: Engine) -> Engine:
    """The same warehouse as ``lienthong_loader`` once ``hub access sync`` has run (the pipelines
    then never load as a superuser); before that, ``engine`` itself."""
    if engine.url.username == LOADER:
        return engine
    with engine.connect() as conn:
        if not has_role_setup(conn):
            return engine
    return role_engine(engine, LOADER)


def ensure_fixed_roles(conn: Connection) -> None:
    """The fixed roles exist (the migration made them) and have the passwords the hub holds."""
    for role in FIXED:
        conn.exec_driver_sql(f"ALTER ROLE {quote(conn, role)} LOGIN PASSWORD {literal(fixed_password(role))}")
    conn.exec_driver_sql(f"ALTER ROLE {quote(conn, LOADER)} BYPASSRLS")  # writes every row, reads them back
    conn.exec_driver_sql(f"ALTER ROLE {quote(conn, ADMIN)} CREATEROLE")


def check_user_name(name: str) -> str:
    if not USER_RE.match(name or "") or name.startswith(("pg_", "lienthong_", "dept_")):
        raise RoleError(f"user name {name!r} is not allowed: lower-case letters, digits and _, 3 to 63 "
                        f"characters, starting with a letter, not pg_, lienthong_ or dept_")
    return name


def grant_user(conn: Connection, department_role: str, user: str) -> str | None:
    """Make ``user`` a LOGIN member of the department's group; return its new password
    (None when the user existed: its password is unchanged)."""
    check_user_name(user)
    exists = conn.execute(text("SELECT rolsuper OR rolcreaterole OR rolbypassrls FROM pg_roles WHERE rolname = :r"),
                          {"r": user}).first()
    if exists and exists[0]:
        raise RoleError(f"{user!r} is a privileged role, not a department user")
    password = None
    if not exists:
        password = secrets.token_urlsafe(18)
        conn.exec_driver_sql(f"CREATE ROLE {quote(conn, user)} LOGIN NOINHERIT PASSWORD {literal(password)}")
    conn.exec_driver_sql(f"GRANT {quote(conn, department_role)} TO {quote(conn, user)} WITH INHERIT TRUE")
    return password


def revoke_user(conn: Connection, department_role: str, user: str) -> None:
    check_user_name(user)
    if not conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": user}).first():
        raise RoleError(f"no user {user!r}")
    conn.exec_driver_sql(f"REVOKE {quote(conn, department_role)} FROM {quote(conn, user)}")
    left = conn.execute(text("SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
                             "JOIN pg_roles g ON g.oid = m.roleid WHERE r.rolname = :r AND g.rolname LIKE 'dept\\_%'"),
                        {"r": user}).scalar()
    if not left:  # a user of no department any more cannot log in
        conn.exec_driver_sql(f"ALTER ROLE {quote(conn, user)} NOLOGIN")


def members(conn: Connection) -> list[dict]:
    """Every LOGIN user of a department group, with its department role."""
    return [dict(r) for r in conn.execute(text(
        "SELECT g.rolname AS department_role, r.rolname AS user_name, r.rolcanlogin AS can_login "
        "FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid "
        "WHERE g.rolname LIKE 'dept\\_%' AND r.rolcanlogin AND r.rolname NOT LIKE 'lienthong\\_%' ORDER BY 1, 2")).mappings()]
