"""Data-sharing requests and their tokens (Decree 194/2025/NĐ-CP: the data's owner grants access,
a connection account, or refuses in writing with a reason within 2 working days).

A consuming department asks for one dataset with a purpose; approval issues a bearer token,
shown once and stored only as its sha256, valid until its expiry; a refusal carries its reason;
a revocation ends the approval and its tokens at once. Each step is a row of
``audit.access_log`` in the same transaction.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import Connection, Engine, text

from access import log
from access.workdays import due_on, load_holidays
from common.errors import HubError
from common.vietnam import VIETNAM
from schemas import all_schema_names

TOKEN_PREFIX = "lt_"  # noqa: S105 - a token's visible prefix, not a secret
DEFAULT_VALID_DAYS = 90


class AccessError(HubError, ValueError):
    """A request, approval or token that does not exist or is not in the state the command needs."""


@dataclass(frozen=True)
class Caller:
    token_id: int
    department: str
    role: str
    datasets: frozenset[str]

    @property
    def actor(self) -> str:
        return f"{self.department} (token {self.token_id})"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def department_role(conn: Connection, code: str) -> str:
    """The department's group role, or AccessError naming the departments the warehouse knows."""
    role = conn.execute(text("SELECT role_name FROM access.department WHERE code = :c"), {"c": code}).scalar()
    if role is None:
        known = ", ".join(conn.execute(text("SELECT code FROM access.department ORDER BY code")).scalars())
        raise AccessError(f"no department {code!r} in the warehouse (known: {known or 'none: run hub access sync'})")
    return role


def _dataset(name: str) -> None:
    if name not in all_schema_names():
        raise AccessError(f"no dataset {name!r} (known: {', '.join(all_schema_names())})")


def request(engine: Engine, department: str, dataset: str, purpose: str, *, actor: str | None = None,
            at: datetime | None = None) -> tuple[int, date]:
    """File a request; return its id and the day the owner must answer by."""
    if not purpose or not purpose.strip():
        raise AccessError("say what the data is for: --purpose TEXT")
    _dataset(dataset)
    at = at or datetime.now(timezone.utc)
    due = due_on(at.astimezone(VIETNAM).date(), load_holidays())
    with engine.begin() as conn:
        department_role(conn, department)
        request_id = conn.execute(text(
            "INSERT INTO access.request (department, dataset, purpose, requested_at, due_on) "
            "VALUES (:d, :ds, :p, :at, :due) RETURNING request_id"),
            {"d": department, "ds": dataset, "p": purpose.strip(), "at": at, "due": due}).scalar_one()
        log.record(conn, actor=actor or log.cli_actor(), action="request", dataset=dataset, status="pending",
                   detail=f"request {request_id} by {department}")
    return request_id, due


def _locked(conn: Connection, request_id: int, status: str) -> dict:
    """The request, locked until the decision commits, if it is in ``status``."""
    row = conn.execute(text("SELECT * FROM access.request WHERE request_id = :r FOR UPDATE"),
                       {"r": request_id}).mappings().first()
    if row is None:
        raise AccessError(f"no request {request_id}")
    if row["status"] != status:
        raise AccessError(f"request {request_id} is {row['status']}, not {status}")
    return dict(row)


def approve(engine: Engine, request_id: int, *, valid_days: int = DEFAULT_VALID_DAYS,
            actor: str | None = None) -> tuple[str, datetime]:
    """Approve a pending request: return the token (shown once, never stored) and its expiry."""
    if valid_days < 1:
        raise AccessError("--valid-days must be at least 1")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        req = _locked(conn, request_id, "pending")
        now = conn.execute(text("SELECT now()")).scalar_one()
        expires = now + timedelta(days=valid_days)
        conn.execute(text("UPDATE access.request SET status = 'approved', decided_at = now() WHERE request_id = :r"),
                     {"r": request_id})
        token_id = conn.execute(text("INSERT INTO access.token (request_id, token_hash, expires_at) "
                                     "VALUES (:r, :h, :e) RETURNING token_id"),
                                {"r": request_id, "h": token_hash(token), "e": expires}).scalar_one()
        log.record(conn, actor=actor or log.cli_actor(), action="approve", dataset=req["dataset"], status="approved",
                   detail=f"request {request_id} of {req['department']}: token {token_id} until {expires:%Y-%m-%d}")
    return token, expires


def refuse(engine: Engine, request_id: int, reason: str, *, actor: str | None = None) -> None:
    if not reason or not reason.strip():
        raise AccessError("a refusal states its reason: --reason TEXT")
    with engine.begin() as conn:
        req = _locked(conn, request_id, "pending")
        conn.execute(text("UPDATE access.request SET status = 'refused', decided_at = now(), reason = :why "
                          "WHERE request_id = :r"), {"r": request_id, "why": reason.strip()})
        log.record(conn, actor=actor or log.cli_actor(), action="refuse", dataset=req["dataset"], status="refused",
                   detail=f"request {request_id} of {req['department']}: {reason.strip()}")


def revoke(engine: Engine, request_id: int, *, actor: str | None = None) -> int:
    """End an approval and every token it issued; return how many tokens stopped working."""
    with engine.begin() as conn:
        req = _locked(conn, request_id, "approved")
        conn.execute(text("UPDATE access.request SET status = 'revoked' WHERE request_id = :r"), {"r": request_id})
        n = conn.execute(text("UPDATE access.token SET revoked_at = now() WHERE request_id = :r "
                              "AND revoked_at IS NULL"), {"r": request_id}).rowcount
        log.record(conn, actor=actor or log.cli_actor(), action="revoke", dataset=req["dataset"], status="revoked",
                   detail=f"request {request_id} of {req['department']}: {n} token(s)")
    return n


def requests(engine: Engine, *, today: date | None = None, pending_only: bool = True) -> list[dict]:
    """Requests with their deadline; a pending one past its day is overdue."""
    today = today or datetime.now(VIETNAM).date()
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(text(
            "SELECT request_id, department, dataset, purpose, requested_at, due_on, status, reason "
            "FROM access.request" + (" WHERE status = 'pending'" if pending_only else "") +
            " ORDER BY due_on, request_id")).mappings()]
    for r in rows:
        r["overdue"] = r["status"] == "pending" and today > r["due_on"]
    return rows


def authenticate(conn: Connection, token: str | None) -> Caller | None:
    """The caller a bearer token stands for, or None (unknown, expired, revoked or not approved)."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = conn.execute(text(
        "SELECT t.token_id, r.department, d.role_name, r.dataset FROM access.token t "
        "JOIN access.request r ON r.request_id = t.request_id JOIN access.department d ON d.code = r.department "
        "WHERE t.token_hash = :h AND t.revoked_at IS NULL AND t.expires_at > now() AND r.status = 'approved'"),
        {"h": token_hash(token)}).first()
    if row is None:
        return None
    return Caller(row.token_id, row.department, row.role_name, frozenset([row.dataset]))
