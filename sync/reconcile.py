"""``hub reconcile``: run the checks between levels and keep what they find.

Each check group writes its findings with :func:`sync.findings.record` in one transaction, so
a re-run leaves one copy of each finding, and a finding that went away is marked resolved.
"""
from __future__ import annotations

from common.errors import HubError

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from sqlalchemy import Engine

from refdata.admin_units import REFORM
from sync import across, geography, publish, upward
from sync.findings import Finding, record

TIMEZONE = "Asia/Ho_Chi_Minh"
GROUPS = {  # check group (what --check names) -> the finding kinds it owns
    "indicators": ("indicator_sum", "indicator_missing_report"),
    "dossiers": ("dossier_statistics",),
    "documents": ("document_not_received", "document_unknown", "document_quarantined"),
    "beneficiaries": ("beneficiary_double", "beneficiary_not_consolidated"),
    "catalogues": ("catalogue_drift",),
    "indicators_2025": ("indicator_sum_2025",),
}


@dataclass
class Reconciliation:
    run_id: str
    findings: list[Finding] = field(default_factory=list)
    resolved: int = 0


class ReconcileError(HubError, ValueError):
    """An unknown check or geography."""


def reconcile(engine: Engine, *, check: str | None = None, period: str | None = None,
              as_of_geography: str = "legacy", as_of: date | None = None, working_days: int = 1) -> Reconciliation:
    if as_of_geography not in ("legacy", "2025"):
        raise ReconcileError(f"--as-of-geography must be legacy or 2025, not {as_of_geography!r}")
    groups = [g for g in GROUPS if g != "indicators_2025"] if check is None else [check]
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise ReconcileError(f"unknown check {unknown[0]!r} (known: {', '.join(GROUPS)})")
    if as_of_geography == "2025" and "indicators" in groups:
        groups = [("indicators_2025" if g == "indicators" else g) for g in groups]
    as_of = as_of or datetime.now(timezone.utc).date()
    result = Reconciliation(str(uuid.uuid4()))
    for group in groups:
        with engine.begin() as conn:
            found = _run(group, conn, period=period, as_of=as_of, working_days=working_days)
            geo = "2025" if group == "indicators_2025" else "recorded"
            done = record(conn, result.run_id, found, checks=set(GROUPS[group]), geography=geo,
                          period=period if group not in ("documents", "catalogues") else None)
        result.findings += found
        result.resolved += done["resolved"]
    return result


def _run(group: str, conn, *, period, as_of, working_days) -> list[Finding]:
    if group == "indicators":
        return upward.indicator_sums(conn, period)
    if group == "dossiers":
        return upward.dossier_statistics(conn, period, reform=REFORM, tz=TIMEZONE)
    if group == "documents":
        return across.documents(conn, as_of=as_of, working_days=working_days)
    if group == "beneficiaries":
        return across.beneficiaries(conn, period)
    if group == "catalogues":
        return publish.drift(conn)
    return geography.province_totals_2025(conn, period)
