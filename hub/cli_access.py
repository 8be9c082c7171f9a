"""``hub access ...`` and ``hub serve``: departments' roles, data-sharing requests, the access log
and the API. Each command calls one function of ``access/``; its named errors become one line.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from hub.errors import console, err, error_line, fail, one_line_errors

access_app = typer.Typer(help="Departments' access: roles, row-level security, data-sharing requests, the "
                              "access log.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(access_app, name="access")
    app.command("serve")(serve)


def _engine():
    from hub.cli import _engine as writing

    return writing()


def _reading_engine():
    from hub.cli import _reading_engine as reading

    return reading()


def _department_role(engine, department: str) -> str:
    from access.requests import department_role

    with engine.connect() as conn:
        return department_role(conn, department)


@access_app.command("sync")
@one_line_errors
def sync(departments: Annotated[Optional[Path], typer.Option(
        help="The registry (default: HUB_DEPARTMENTS, else departments.yaml beside sources.yaml).")] = None) -> None:
    """Create or update the roles, grants, row-level policies and mart views from departments.yaml.

    Example: hub access sync --departments departments.yaml
    """
    from access.departments import load_departments
    from access.policies import sync as run_sync
    from pipeline.config import load_sources

    registry = load_departments(departments, load_sources())
    r = run_sync(_engine(), registry)
    console.print(f"{r.departments} department(s), {r.tables} core table(s) under row-level security; "
                  f"roles created: {', '.join(r.roles_created) or 'none'}; dropped: {', '.join(r.roles_dropped) or 'none'}",
                  highlight=False, markup=False)


@access_app.command("grant")
@one_line_errors
def grant(department: Annotated[str, typer.Argument(help="Department code (departments.yaml).")],
          user: Annotated[str, typer.Argument(help="LOGIN user to create or add to the department.")]) -> None:
    """Let a person query the department's rows with SQL: a LOGIN user in the department's group role.
    A new user's password is printed once; the hub keeps it nowhere.

    Example: hub access grant ubnd_xa_07210 nguyen_van_a
    """
    from access import log
    from access.roles import grant_user

    engine = _engine()
    role = _department_role(engine, department)
    with engine.begin() as conn:
        password = grant_user(conn, role, user)
        log.record(conn, actor=log.cli_actor(), action="grant", status="granted",
                   detail=f"SQL user {user} in {department}")
    console.print(f"{user} reads as {department} (role {role})", highlight=False, markup=False)
    if password:
        console.print(f"password (shown once): {password}", highlight=False, markup=False)


@access_app.command("revoke")
@one_line_errors
def revoke(department: Annotated[Optional[str], typer.Argument(help="Department code, with USER.")] = None,
           user: Annotated[Optional[str], typer.Argument(help="SQL user to take out of the department.")] = None,
           request: Annotated[Optional[int], typer.Option("--request",
                                                          help="Revoke this approved request and its tokens.")] = None,
           ) -> None:
    """Take a SQL user out of a department, or end an approved request and every token it issued.

    Example: hub access revoke ubnd_xa_07210 nguyen_van_a  |  hub access revoke --request 3
    """
    from access import log
    from access.requests import revoke as revoke_request
    from access.roles import revoke_user

    if (request is None) == (department is None or user is None) or (request is not None and department):
        fail("name DEPARTMENT USER, or --request REQUEST_ID", 2)
    engine = _engine()
    if request is not None:
        n = revoke_request(engine, request)
        console.print(f"request {request} revoked; {n} token(s) no longer work", highlight=False, markup=False)
        return
    role = _department_role(engine, department)
    with engine.begin() as conn:
        revoke_user(conn, role, user)
        log.record(conn, actor=log.cli_actor(), action="revoke", status="revoked",
                   detail=f"SQL user {user} from {department}")
    console.print(f"{user} no longer reads as {department}", highlight=False, markup=False)


@access_app.command("list")
@one_line_errors
def list_users() -> None:
    """List the departments, their roles and the SQL users in each.

    Example: hub access list
    """
    from sqlalchemy import text

    from access.roles import members

    engine = _reading_engine()
    with engine.connect() as conn:
        depts = conn.execute(text("SELECT code, name, level, role_name FROM access.department ORDER BY code")).all()
        users = members(conn)
    table = Table(title="Departments and their SQL users")
    for col in ("department", "level", "role", "users", "name"):
        table.add_column(col)
    for d in depts:
        table.add_row(d.code, d.level, d.role_name,
                      ", ".join(u["user_name"] for u in users if u["department_role"] == d.role_name), d.name)
    console.print(table)


@access_app.command("request")
@one_line_errors
def request(department: Annotated[str, typer.Argument(help="The consuming department's code.")],
            dataset: Annotated[str, typer.Argument(help="Dataset (a mart view: dossier, official_document, ...).")],
            purpose: Annotated[str, typer.Option(help="What the data is for.")]) -> None:
    """Ask the data's owner for access to a dataset; the owner answers within 2 working days.

    Example: hub access request ubnd_xa_07210 dossier --purpose "Theo dõi hồ sơ một cửa của phường"
    """
    from access.requests import request as file_request

    request_id, due = file_request(_engine(), department, dataset, purpose)
    console.print(f"request {request_id}: {department} asks for {dataset}; the owner answers by {due:%Y-%m-%d}",
                  highlight=False, markup=False)


@access_app.command("approve")
@one_line_errors
def approve(request_id: Annotated[int, typer.Argument(help="The request's id (hub access requests).")],
            valid_days: Annotated[int, typer.Option(help="Days until the token expires.")] = 90) -> None:
    """Approve a request and issue its token: shown once, stored only as a hash, with an expiry.

    Example: hub access approve 1 --valid-days 30
    """
    from access.requests import approve as run_approve

    token, expires = run_approve(_engine(), request_id, valid_days=valid_days)
    err.print(f"request {request_id} approved; token valid until {expires:%Y-%m-%d %H:%M %Z} "
              f"(shown once, on stdout; keep it safe):", highlight=False, markup=False)
    sys.stdout.write(token + "\n")


@access_app.command("refuse")
@one_line_errors
def refuse(request_id: Annotated[int, typer.Argument(help="The request's id.")],
           reason: Annotated[str, typer.Option(help="The written reason the requester receives.")]) -> None:
    """Refuse a request in writing, with its reason.

    Example: hub access refuse 2 --reason "Dữ liệu chứa thông tin cá nhân ngoài phạm vi mục đích"
    """
    from access.requests import refuse as run_refuse

    run_refuse(_engine(), request_id, reason)
    console.print(f"request {request_id} refused", highlight=False, markup=False)


@access_app.command("requests")
@one_line_errors
def requests(all_requests: Annotated[bool, typer.Option("--all", help="Decided ones too.")] = False) -> None:
    """List pending requests with the day each must be answered by (working days; overdue flagged).

    Example: hub access requests
    """
    from access.requests import requests as list_requests

    rows = list_requests(_reading_engine(), pending_only=not all_requests)
    table = Table(title="Data-sharing requests" + ("" if all_requests else " (pending)"))
    for col in ("id", "department", "dataset", "requested", "answer by", "status", "purpose / reason"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["request_id"]), r["department"], r["dataset"], f"{r['requested_at']:%Y-%m-%d %H:%M}",
                      f"{r['due_on']:%Y-%m-%d}" + (" OVERDUE" if r["overdue"] else ""), r["status"],
                      r["reason"] or r["purpose"])
    console.print(table)


@access_app.command("verify-log")
@one_line_errors
def verify_log() -> None:
    """Recompute the access log's hash chain and name any row changed, removed or out of order.

    Example: hub access verify-log
    """
    from access.log import verify

    n, breaks = verify(_reading_engine())
    for b in breaks:
        error_line(b, "broken")
    if breaks:
        fail(f"the access log's chain is broken at {len(breaks)} place(s) of {n} row(s)")
    console.print(f"access log intact: {n} row(s) chained", highlight=False, markup=False)


@one_line_errors
def serve(host: Annotated[str, typer.Option(help="Address to bind (127.0.0.1 unless told otherwise).")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port.")] = 8600,
          per_minute: Annotated[int, typer.Option(help="Requests a minute allowed per token.")] = 120) -> None:
    """Start the data-sharing API: datasets, records (JSON or CSV), /openapi.json.

    Example: hub serve --port 8600
    """
    from access.api import serve as run_server
    from access.roles import ADMIN, has_role_setup, role_engine

    engine = _reading_engine()
    with engine.connect() as conn:
        if not has_role_setup(conn):
            fail("no departments in the warehouse: run hub access sync first")
    console.print(f"serving on http://{host}:{port}/api/v1 (docs at /docs)", highlight=False, markup=False)
    run_server(role_engine(engine, ADMIN), host, port, per_minute)
