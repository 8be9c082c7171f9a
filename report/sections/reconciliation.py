"""Reconciliation findings, grouped by check and level, with units by name and people masked.

A finding names a unit by code (several, for a person on two communes' lists) and a person by
the keyed hash of their citizen ID; auditors read names and the masked ID instead. A code is
named on the map of the finding's period (its last day), or of its geography when it was
re-expressed on the 2025 map.
"""
from __future__ import annotations

import calendar
import re
from datetime import date
from itertools import groupby
from typing import Any

from sqlalchemy import func, select

from report.figures import plain
from report.sections import Page, register
from report.sections.units import era_of
from schemas import get_schema
from sync.findings import open_findings
from warehouse.tables import admin_unit, reconciliation, schema_tables

HASH = re.compile(r"\b[0-9a-f]{64}\b")
KEEP = ("check", "level", "unit", "period", "subject", "expected", "found", "difference", "geography", "detail",
        "first_seen_at", "last_seen_at")


def period_end(period: str | None) -> date | None:
    m = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?|-Q([1-4]))?", period or "")
    if not m:
        return None
    year, month, day, quarter = m.groups()
    year = int(year)
    if day:
        return date(year, int(month), int(day))
    month = int(month) if month else 3 * int(quarter) if quarter else 12
    return date(year, month, calendar.monthrange(year, month)[1])


def masked_people(conn, hashes: set[str]) -> dict[str, str]:
    if not hashes:
        return {}
    table = schema_tables(get_schema("social_beneficiary"))[0]
    return dict(conn.execute(select(table.c.citizen_id_hash, func.min(table.c.citizen_id_masked))
                             .where(table.c.citizen_id_hash.in_(sorted(hashes)))
                             .group_by(table.c.citizen_id_hash)).all())


class Reconciliation:
    name, title, page = "reconciliation", "Reconciliation", "reconciliation.html"

    def collect(self, fig) -> dict[str, Any]:
        conn = fig.conn
        findings = [{k: f[k] for k in KEEP} for f in open_findings(conn)]
        names: dict[tuple[str, str], str] = {}
        for era, code, name in conn.execute(select(admin_unit.c.era, admin_unit.c.code, admin_unit.c.name)
                                            .where(admin_unit.c.superseded_at.is_(None))
                                            .order_by(admin_unit.c.valid_from.nulls_first())):
            names[(era, code)] = name
        hashes = {h for f in findings for text in (f["subject"], f["detail"]) for h in HASH.findall(text or "")}
        people = masked_people(conn, hashes) if hashes else {}
        for f in findings:
            era = "2025" if f["geography"] == "2025" else era_of(period_end(f["period"]))
            units = [u.strip() for u in (f["unit"] or "").split(",") if u.strip()]
            f["units"] = [{"code": u, "name": names.get((era, u)) or names.get(("legacy", u)) or names.get(("2025", u))}
                          for u in units]
            f["unit_names"] = ", ".join(f"{u['name']} ({u['code']})" if u["name"] else u["code"] for u in f["units"])
            for key in ("subject", "detail"):
                f[key] = HASH.sub(lambda m: people.get(m.group(), "a person (masked)"), f[key] or "") or None
        findings.sort(key=lambda f: (f["check"], f["level"] or "", f["period"] or "", f["unit"] or ""))
        groups = [{"check": check, "level": level, "findings": list(items)}
                  for (check, level), items in groupby(findings, key=lambda f: (f["check"], f["level"]))]
        resolved = conn.execute(select(func.count()).where(reconciliation.c.status == "resolved")).scalar_one()
        by_check = [dict(r) for r in conn.execute(
            select(reconciliation.c.check, reconciliation.c.geography,
                   func.count().filter(reconciliation.c.status == "open").label("open"),
                   func.count().filter(reconciliation.c.status == "resolved").label("resolved"))
            .group_by(reconciliation.c.check, reconciliation.c.geography)
            .order_by(reconciliation.c.check)).mappings()]
        return plain({"open": findings, "groups": groups, "resolved": resolved, "by_check": by_check})

    def pages(self, data, fig):
        yield Page(self.page, "reconciliation.html", {"data": data}, self.title)


register(Reconciliation())
