"""``hub reconcile``: run the registered checks between levels and keep what they find.

Each check writes its findings with :func:`sync.findings.record` in one transaction, so a
re-run leaves one copy of each finding, and a finding that went away is marked resolved.
Which checks exist, what they own and how a period or a map narrows them is theirs to say
(``sync/checks/``); this module only chooses and runs them.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from sqlalchemy import Engine

from common.errors import HubError
from sync.checks import Check, Scope, checks
from sync.findings import Finding, record

GEOGRAPHIES = ("legacy", "2025")


@dataclass
class Reconciliation:
    run_id: str
    findings: list[Finding] = field(default_factory=list)
    resolved: int = 0


class ReconcileError(HubError, ValueError):
    """An unknown check or geography."""


def selected(check: str | None, as_of_geography: str) -> list[Check]:
    """The checks one run makes: the named one or every default one; on the 2025 map, each check
    with a stand-in reading that map is replaced by it."""
    if as_of_geography not in GEOGRAPHIES:
        raise ReconcileError(f"--as-of-geography must be legacy or 2025, not {as_of_geography!r}")
    known = checks()
    if check is not None and check not in known:
        raise ReconcileError(f"unknown check {check!r} (known: {', '.join(known)})")
    chosen = [known[check]] if check else [c for c in known.values() if c.stands_in_for is None]
    if as_of_geography == "2025":
        stand_ins = {c.stands_in_for: c for c in known.values() if c.stands_in_for and c.geography == "2025"}
        chosen = [stand_ins.get(c.name, c) for c in chosen]
    return chosen


def reconcile(engine: Engine, *, check: str | None = None, period: str | None = None,
              as_of_geography: str = "legacy", as_of: date | None = None, working_days: int = 1) -> Reconciliation:
    chosen = selected(check, as_of_geography)
    scope = Scope(period=period, as_of=as_of or datetime.now(timezone.utc).date(), working_days=working_days)
    result = Reconciliation(str(uuid.uuid4()))
    for c in chosen:
        with engine.begin() as conn:
            found = c.run(conn, scope)
            done = record(conn, result.run_id, found, checks=set(c.finds), geography=c.geography,
                          period=period if c.periods else None)
        result.findings += found
        result.resolved += done["resolved"]
    return result
