"""Upward, on the 2025 map: legacy periods re-expressed through the crosswalk (``sync.geography``)
still add up, so a trend across the reform reads on one map."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Connection, text

from refdata.hierarchy import valid_on_sql
from sync.checks import Scope, reconciliation_check
from sync.findings import Finding
from sync.geography import RULE, reexpress

PROVINCE_REPORTS = text(f"""
SELECT r.indicator_code, r.period, x.new_code AS new_province, sum(r.value) AS reported, i.tolerance,
       array_agg(r.reporting_unit_code ORDER BY r.reporting_unit_code) AS legacy_provinces
FROM core.indicator_report r
JOIN ref.indicator i ON i.code = r.indicator_code AND i.additive
JOIN ref.admin_unit u ON u.code = r.reporting_unit_code AND u.era = 'legacy' AND u.level = 'province'
     AND {valid_on_sql("u", "r.period_end")}
JOIN ref.admin_unit_crosswalk x ON x.legacy_code = u.code AND x.level = 'province'
WHERE CAST(:period AS text) IS NULL OR r.period = :period
GROUP BY r.indicator_code, r.period, x.new_code, i.tolerance
""")  # noqa: S608 - composed of constant SQL (valid_on_sql); every value is a bound parameter


@reconciliation_check("indicators_2025", finds=("indicator_sum_2025",), direction="upward",
                      levels=("commune", "province"), periods=("month", "quarter", "year"), geography="2025",
                      stands_in_for="indicators")
def province_totals_2025(conn: Connection, scope: Scope) -> list[Finding]:
    """legacy provinces' totals against their communes re-expressed on the 2025 map (--as-of-geography 2025)

    The legacy provinces' reports, summed into their 2025 province, against the sum of their
    communes re-expressed on 2025 communes, with the indicator's tolerance as on the legacy map
    (else a rounding accepted there is a finding here)."""
    period = scope.period
    sums = reexpress(conn, period=period)
    findings = []
    for r in conn.execute(PROVINCE_REPORTS, {"period": period}).mappings():
        expected = sums.get((r["indicator_code"], r["period"]), {}).get(r["new_province"])
        if expected is None or abs(Decimal(r["reported"]) - expected) > Decimal(r["tolerance"]):
            findings.append(Finding(
                "indicator_sum_2025", r["new_province"], r["period"], r["indicator_code"], "province",
                expected=expected, found=r["reported"],
                difference=None if expected is None else Decimal(r["reported"]) - expected, geography="2025",
                detail=f"on the 2025 map, provinces {', '.join(r['legacy_provinces'])} reported {r['reported']} for "
                       f"{r['indicator_code']} {r['period']}; their communes re-expressed give {expected} ({RULE})"))
    return findings
