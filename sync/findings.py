"""Findings and where they are kept (``audit.reconciliation``).

A finding is identified by what it is about (check, geography, unit, period, subject), so a
re-run writes the same finding once: it is seen again, not copied. A finding that a re-run of
its check no longer produces is marked resolved, never deleted.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from warehouse.tables import reconciliation


@dataclass(frozen=True)
class Finding:
    check: str
    unit: str | None
    period: str | None
    subject: str | None = None
    level: str | None = None
    expected: Decimal | float | int | None = None
    found: Decimal | float | int | None = None
    difference: Decimal | float | int | None = None
    detail: str = ""
    geography: str = "recorded"
    evidence: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        text = "|".join(str(x) for x in (self.check, self.geography, self.unit, self.period, self.subject))
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def record(conn: Connection, run_id: str, findings: list[Finding], *, checks: set[str],
           geography: str, period: str | None = None) -> dict[str, int]:
    """Upsert this run's findings; resolve the open ones of these checks it did not find again."""
    rows = {f.key: {**{k: v for k, v in asdict(f).items()}, "finding_key": f.key, "status": "open", "run": run_id}
            for f in findings}
    if rows:
        stmt = pg_insert(reconciliation)
        conn.execute(stmt.on_conflict_do_update(index_elements=["finding_key"], set_={
            "status": "open", "run": run_id, "last_seen_at": func.now(), "expected": stmt.excluded.expected,
            "found": stmt.excluded.found, "difference": stmt.excluded.difference, "detail": stmt.excluded.detail,
            "evidence": stmt.excluded.evidence}), list(rows.values()))
    scope = [reconciliation.c.check.in_(sorted(checks)), reconciliation.c.status == "open",
             reconciliation.c.geography == geography, reconciliation.c.finding_key.not_in(list(rows) or [""])]
    if period:
        scope.append(reconciliation.c.period == period)
    resolved = conn.execute(update(reconciliation).where(and_(*scope))
                            .values(status="resolved", run=run_id, last_seen_at=func.now())).rowcount
    return {"open": len(rows), "resolved": resolved or 0}


def open_findings(conn: Connection, check: str | None = None) -> list[dict[str, Any]]:
    query = select(reconciliation).where(reconciliation.c.status == "open") \
        .order_by(reconciliation.c.check, reconciliation.c.period, reconciliation.c.unit, reconciliation.c.subject)
    if check:
        query = query.where(reconciliation.c.check == check)
    return [dict(r) for r in conn.execute(query).mappings()]
