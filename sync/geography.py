"""Legacy figures re-expressed on the 2025 map, so a trend across the reform reads on one map.

Each legacy commune's value goes to its default 2025 successor in the crosswalk (the
package's rule for a divided commune: all of it to the default part, stated in the report);
2025 provinces are the sums of their re-expressed communes.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Connection, text

from sync.findings import Finding

RULE = ("legacy communes are re-expressed on 2025 communes through ref.admin_unit_crosswalk; "
        "a divided commune counts whole towards its default successor (is_default)")

CONTRIBUTIONS = text("""
SELECT r.indicator_code, r.period, r.reporting_unit_code AS legacy_code, lu.parent_code AS legacy_district,
       x.new_code, nu.parent_code AS new_province, r.value
FROM core.indicator_report r
JOIN ref.admin_unit lu ON lu.code = r.reporting_unit_code AND lu.era = 'legacy' AND lu.level = 'commune'
     AND lu.superseded_at IS NULL AND r.period_end <= lu.valid_to
JOIN ref.admin_unit_crosswalk x ON x.legacy_code = lu.code AND x.level = 'commune' AND x.is_default
JOIN ref.admin_unit nu ON nu.code = x.new_code AND nu.era = '2025' AND nu.superseded_at IS NULL
WHERE (CAST(:period AS text) IS NULL OR r.period = :period)
  AND (CAST(:indicator AS text) IS NULL OR r.indicator_code = :indicator)
ORDER BY r.period, r.indicator_code, x.new_code, r.reporting_unit_code
""")


def contributions(conn: Connection, *, period: str | None = None, indicator: str | None = None) -> list[dict]:
    """Each legacy commune figure with the 2025 commune and province it counts towards."""
    return [dict(r) for r in conn.execute(CONTRIBUTIONS, {"period": period, "indicator": indicator}).mappings()]


def reexpress(conn: Connection, *, period: str | None = None, indicator: str | None = None) -> dict:
    """Legacy figures on 2025 units: {(indicator, period): {2025 code: value}} for communes and provinces."""
    out: dict[tuple[str, str], dict[str, Decimal]] = {}
    for c in contributions(conn, period=period, indicator=indicator):
        cell = out.setdefault((c["indicator_code"], c["period"]), {})
        for code in (c["new_code"], c["new_province"]):
            cell[code] = cell.get(code, Decimal(0)) + Decimal(c["value"])
    return out


PROVINCE_REPORTS = text("""
SELECT r.indicator_code, r.period, x.new_code AS new_province, sum(r.value) AS reported, i.tolerance,
       array_agg(r.reporting_unit_code ORDER BY r.reporting_unit_code) AS legacy_provinces
FROM core.indicator_report r
JOIN ref.indicator i ON i.code = r.indicator_code AND i.additive
JOIN ref.admin_unit u ON u.code = r.reporting_unit_code AND u.era = 'legacy' AND u.level = 'province'
     AND u.superseded_at IS NULL AND r.period_end <= u.valid_to
JOIN ref.admin_unit_crosswalk x ON x.legacy_code = u.code AND x.level = 'province'
WHERE CAST(:period AS text) IS NULL OR r.period = :period
GROUP BY r.indicator_code, r.period, x.new_code, i.tolerance
""")


def province_totals_2025(conn: Connection, period: str | None = None) -> list[Finding]:
    """Legacy periods on the 2025 map: the legacy provinces' reports, summed into their 2025
    province, against the sum of their communes re-expressed on 2025 communes, with the
    indicator's tolerance as on the legacy map (else a rounding accepted there is a finding here)."""
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
