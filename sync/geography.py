"""Legacy figures re-expressed on the 2025 map, so a trend across the reform reads on one map.

Each legacy commune's value goes to its default 2025 successor in the crosswalk (the
package's rule for a divided commune: all of it to the default part, stated in the report);
2025 provinces are the sums of their re-expressed communes.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Connection, text

from refdata.hierarchy import valid_on_sql

RULE = ("legacy communes are re-expressed on 2025 communes through ref.admin_unit_crosswalk; "
        "a divided commune counts whole towards its default successor (is_default)")

CONTRIBUTIONS = text(f"""
SELECT r.indicator_code, r.period, r.reporting_unit_code AS legacy_code, lu.parent_code AS legacy_district,
       x.new_code, nu.parent_code AS new_province, r.value
FROM core.indicator_report r
JOIN ref.admin_unit lu ON lu.code = r.reporting_unit_code AND lu.era = 'legacy' AND lu.level = 'commune'
     AND {valid_on_sql("lu", "r.period_end")}
JOIN ref.admin_unit_crosswalk x ON x.legacy_code = lu.code AND x.level = 'commune' AND x.is_default
JOIN ref.admin_unit nu ON nu.code = x.new_code AND nu.era = '2025' AND nu.superseded_at IS NULL
WHERE (CAST(:period AS text) IS NULL OR r.period = :period)
  AND (CAST(:indicator AS text) IS NULL OR r.indicator_code = :indicator)
ORDER BY r.period, r.indicator_code, x.new_code, r.reporting_unit_code
""")  # noqa: S608 - composed of constant SQL (valid_on_sql); every value is a bound parameter


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
