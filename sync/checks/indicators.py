"""Upward: a parent's indicator equals the sum of its children's, at the period's own date.

The children of a unit are read from ``ref.admin_unit`` on the last day of the period, so
June 2025 reconciles commune -> district -> province -> central and July 2025 commune ->
province -> central, each part of a straddling quarter on its own hierarchy.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Connection, text

from refdata.hierarchy import valid_on_sql
from sync.checks import LEVELS, Scope, reconciliation_check
from sync.findings import Finding

INDICATOR_SUMS = text(f"""
WITH rep AS (
    SELECT r.indicator_code, r.period, r.period_end, r.reporting_unit_code AS unit, r.value, i.tolerance
    FROM core.indicator_report r
    JOIN ref.indicator i ON i.code = r.indicator_code AND i.additive
    WHERE CAST(:period AS text) IS NULL OR r.period = :period
), family AS (
    SELECT p.indicator_code, p.period, p.period_end, p.unit, p.value, p.tolerance,
           u.code AS child, u.level AS child_level
    FROM rep p
    JOIN ref.admin_unit u ON u.parent_code = p.unit AND {valid_on_sql("u", "p.period_end")}
)
SELECT f.indicator_code, f.period, f.unit, pu.level, f.value AS found, f.tolerance,
       sum(c.value) AS expected, count(c.value) AS reported, count(*) AS children,
       array_agg(f.child ORDER BY f.child) FILTER (WHERE c.value IS NULL) AS missing,
       array_agg(f.child_level ORDER BY f.child) FILTER (WHERE c.value IS NULL) AS missing_levels
FROM family f
LEFT JOIN rep c ON c.indicator_code = f.indicator_code AND c.period = f.period AND c.unit = f.child
LEFT JOIN ref.admin_unit pu ON pu.code = f.unit AND {valid_on_sql("pu", "f.period_end")}
GROUP BY f.indicator_code, f.period, f.unit, pu.level, f.value, f.tolerance
ORDER BY f.period, f.indicator_code, f.unit
""")  # noqa: S608 - composed of constant SQL (valid_on_sql); every value is a bound parameter


@reconciliation_check("indicators", finds=("indicator_sum", "indicator_missing_report"), direction="upward",
                      levels=LEVELS, periods=("month", "quarter", "year"))
def indicator_sums(conn: Connection, scope: Scope) -> list[Finding]:
    """a parent's indicator equals the sum of its children's, and a child that did not report is a finding"""
    findings = []
    for r in conn.execute(INDICATOR_SUMS, {"period": scope.period}).mappings():
        if r["missing"]:  # a missing report is its own finding, never a zero in the sum
            for child, level in zip(r["missing"], r["missing_levels"]):
                findings.append(Finding(
                    "indicator_missing_report", child, r["period"], r["indicator_code"], level,
                    detail=f"{r['unit']} reported {r['indicator_code']} for {r['period']} but its child {child} "
                           "did not report"))
            continue
        difference = Decimal(r["found"]) - Decimal(r["expected"])
        if abs(difference) > Decimal(r["tolerance"]):
            findings.append(Finding(
                "indicator_sum", r["unit"], r["period"], r["indicator_code"], r["level"],
                expected=r["expected"], found=r["found"], difference=difference,
                detail=f"{r['unit']} reported {r['found']} for {r['indicator_code']} {r['period']}; its "
                       f"{r['children']} children sum to {r['expected']} (tolerance {r['tolerance']})"))
    return findings
