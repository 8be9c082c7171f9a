"""``audit.access_log``: every API request and every grant, approval, refusal and revocation,
as a hash chain the database keeps (a trigger writes each row's sha256 over its content and
the previous row's hash, in id order, and refuses updates and deletes).

A row names who, what dataset, which filters, how many rows, what status; never a token and
never a raw personal value (filter values are cut to a length, and the API's filters are unit
codes, dates and cursors). ``verify`` recomputes the chain with the database's own content
function, so an edit made with the trigger disabled, a removed row or rows put in another
order are found and named.
"""
from __future__ import annotations

import getpass
import json
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

MAX_VALUE = 200
GENESIS = "0" * 64


def cli_actor() -> str:
    return f"cli:{getpass.getuser()}"


def _text(value, limit: int) -> str:
    """A value as PostgreSQL text can hold it: cut to ``limit``, NUL shown as U+FFFD (text refuses NUL)."""
    return str(value)[:limit].replace("\x00", "\ufffd")


def clean_filters(filters: dict | None) -> dict | None:
    """Filter values as logged: strings cut to MAX_VALUE characters, None dropped."""
    if not filters:
        return None
    return {_text(k, 64): (v if isinstance(v, (int, float, bool)) else _text(v, MAX_VALUE))
            for k, v in filters.items() if v is not None}


def record(conn: Connection, *, actor: str, action: str, status: str, dataset: str | None = None,
           filters: dict | None = None, rows: int | None = None, detail: str | None = None) -> None:
    """Append one row (in the caller's transaction: a grant and its log row commit together)."""
    conn.execute(text("INSERT INTO audit.access_log (actor, action, dataset, filters, rows_returned, status, detail) "
                      "VALUES (:actor, :action, :dataset, CAST(:filters AS jsonb), :rows, :status, :detail)"),
                 {"actor": _text(actor, 200), "action": action, "dataset": dataset and _text(dataset, 63),
                  "filters": json.dumps(clean_filters(filters), ensure_ascii=False) if filters else None,
                  "rows": rows, "status": _text(status, 16), "detail": detail and _text(detail, 500)})


@dataclass(frozen=True)
class Break:
    log_id: int
    problem: str

    def __str__(self) -> str:
        return f"row {self.log_id}: {self.problem}"


def verify(engine: Engine) -> tuple[int, list[Break]]:
    """(rows checked, what breaks the chain, in id order)."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT log_id, prev_hash, row_hash, "
            "encode(sha256(convert_to(audit.access_log_content(l), 'UTF8')), 'hex') AS computed "
            "FROM audit.access_log l ORDER BY log_id")).all()
    by_hash = {r.row_hash: r.log_id for r in rows}
    breaks: list[Break] = []
    previous = GENESIS
    for r in rows:
        if r.computed != r.row_hash:
            breaks.append(Break(r.log_id, "its content was changed (its hash does not match what it holds)"))
        if r.prev_hash != previous:
            other = by_hash.get(r.prev_hash)
            if other is None:
                what = "the row before it was removed (it chains to a row no longer in the log)"
            else:
                what = f"the rows are out of order (it chains to row {other}, not to the row before it)"
            breaks.append(Break(r.log_id, what))
        previous = r.row_hash
    return len(rows), breaks


def summary(conn: Connection) -> list[dict]:
    """Who read what, and how much: the auditors' report's access section."""
    if not conn.execute(text("SELECT to_regclass('audit.access_log') IS NOT NULL")).scalar():
        return []
    return [dict(r) for r in conn.execute(text(
        "SELECT actor, action, coalesce(dataset, '') AS dataset, status, count(*) AS requests, "
        "coalesce(sum(rows_returned), 0) AS rows, max(at) AS last_at FROM audit.access_log "
        "GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4")).mappings()]
