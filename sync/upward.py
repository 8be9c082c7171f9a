"""Upward: a parent's figure equals the sum of its children's, at the period's own date.

The children of a unit are read from ``ref.admin_unit`` on the last day of the period, so
June 2025 reconciles commune -> district -> province -> central and July 2025 commune ->
province -> central, each part of a straddling quarter on its own hierarchy.
"""
from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from sync.findings import Finding

VALID_AT = ("u.superseded_at IS NULL AND (u.valid_from IS NULL OR u.valid_from <= {d}) "
            "AND (u.valid_to IS NULL OR u.valid_to >= {d})")

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
    JOIN ref.admin_unit u ON u.parent_code = p.unit AND {VALID_AT.format(d="p.period_end")}
)
SELECT f.indicator_code, f.period, f.unit, pu.level, f.value AS found, f.tolerance,
       sum(c.value) AS expected, count(c.value) AS reported, count(*) AS children,
       array_agg(f.child ORDER BY f.child) FILTER (WHERE c.value IS NULL) AS missing,
       array_agg(f.child_level ORDER BY f.child) FILTER (WHERE c.value IS NULL) AS missing_levels
FROM family f
LEFT JOIN rep c ON c.indicator_code = f.indicator_code AND c.period = f.period AND c.unit = f.child
LEFT JOIN ref.admin_unit pu ON pu.code = f.unit AND {VALID_AT.format(d="f.period_end").replace("u.", "pu.")}
GROUP BY f.indicator_code, f.period, f.unit, pu.level, f.value, f.tolerance
ORDER BY f.period, f.indicator_code, f.unit
""")  # noqa: S608 - composed of this module's constants (VALID_AT); every value is a bound parameter


def indicator_sums(conn: Connection, period: str | None = None) -> list[Finding]:
    findings = []
    for r in conn.execute(INDICATOR_SUMS, {"period": period}).mappings():
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


DOSSIER_STATISTICS = text(f"""
WITH RECURSIVE stat AS (
    SELECT s.unit_code, s.period, s.period_end, s.received_count, s.completed_count,
           s.completed_on_time_count,
           CASE WHEN length(s.period) = 10 THEN to_date(s.period, 'YYYY-MM-DD')
                ELSE to_date(s.period || '-01', 'YYYY-MM-DD') END AS period_start
    FROM core.dossier_statistic s
    WHERE CAST(:period AS text) IS NULL OR s.period = :period
), tree(unit_code, period, code, period_end) AS (
    SELECT unit_code, period, unit_code, period_end FROM stat
    UNION ALL
    SELECT t.unit_code, t.period, u.code, t.period_end
    FROM tree t JOIN ref.admin_unit u ON u.parent_code = t.code AND {VALID_AT.format(d="t.period_end")}
), dossier_unit AS (
    -- a dossier belongs to the unit its code named when it was received; read on the other
    -- side of the reform, that unit is its default successor in the crosswalk. One row per
    -- side, so the statistics join it on equality (a hash join), not on an expression.
    SELECT d.received_at, d.completed_at, d.due_at, d.admin_unit_code AS code, false AS after_reform
    FROM core.dossier d
    UNION ALL
    SELECT d.received_at, d.completed_at, d.due_at, coalesce(x.new_code, d.admin_unit_code), true
    FROM core.dossier d
    LEFT JOIN ref.admin_unit_crosswalk x ON x.legacy_code = d.admin_unit_code AND x.is_default
         AND x.level = 'commune' AND d.received_at < :reform_at
)
SELECT s.unit_code, s.period, s.received_count, s.completed_count, s.completed_on_time_count,
       (SELECT u.level FROM ref.admin_unit u WHERE u.code = s.unit_code
          AND {VALID_AT.format(d="s.period_end")} LIMIT 1) AS level,
       count(*) FILTER (WHERE (du.received_at AT TIME ZONE :tz)::date BETWEEN s.period_start AND s.period_end)
           AS received,
       count(*) FILTER (WHERE (du.completed_at AT TIME ZONE :tz)::date BETWEEN s.period_start AND s.period_end)
           AS completed,
       count(*) FILTER (WHERE (du.completed_at AT TIME ZONE :tz)::date BETWEEN s.period_start AND s.period_end
                          AND du.completed_at <= du.due_at) AS on_time
FROM stat s
JOIN tree t ON t.unit_code = s.unit_code AND t.period = s.period
LEFT JOIN dossier_unit du ON du.code = t.code AND du.after_reform = (s.period_end >= :reform)
GROUP BY s.unit_code, s.period, s.period_end, s.received_count, s.completed_count, s.completed_on_time_count
ORDER BY s.period, s.unit_code
""")  # noqa: S608 - composed of this module's constants (VALID_AT); every value is a bound parameter
METRICS = (("received", "received_count"), ("completed", "completed_count"), ("on_time", "completed_on_time_count"))


def dossier_statistics(conn: Connection, period: str | None = None, *, reform, tz: str) -> list[Finding]:
    findings = []
    reform_at = datetime.combine(reform, time(0), ZoneInfo(tz))
    params = {"period": period, "reform": reform, "reform_at": reform_at, "tz": tz}
    for r in conn.execute(DOSSIER_STATISTICS, params).mappings():
        for computed, reported in METRICS:
            if r[computed] != r[reported]:
                findings.append(Finding(
                    "dossier_statistics", r["unit_code"], r["period"], reported, r["level"],
                    expected=r[computed], found=r[reported], difference=r[reported] - r[computed],
                    detail=f"{r['unit_code']} reports {reported} = {r[reported]} for {r['period']}; "
                           f"its dossiers give {r[computed]}"))
    return findings
