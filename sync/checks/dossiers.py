"""Upward: a unit's reported dossier statistics equal what its own and its children's dossiers give.

A dossier belongs to the unit its code named when it was received; read on the other side of
the reform, that unit is its default successor in the crosswalk.
"""
from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from refdata.hierarchy import valid_on_sql
from sync.checks import LEVELS, Scope, reconciliation_check
from sync.findings import Finding

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
    FROM tree t JOIN ref.admin_unit u ON u.parent_code = t.code AND {valid_on_sql("u", "t.period_end")}
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
), daily(code, after_reform, day, received, completed, on_time) AS (
    -- counted per unit and local day once, so each statistic sums the days of its period rather
    -- than joining every dossier its units ever had (the province's statistics against all its
    -- dossiers: 12.8 s of one large demo's 106 s)
    SELECT code, after_reform, day, sum(received), sum(completed), sum(on_time)
    FROM (SELECT code, after_reform, (received_at AT TIME ZONE :tz)::date AS day,
                 1 AS received, 0 AS completed, 0 AS on_time
          FROM dossier_unit
          UNION ALL
          SELECT code, after_reform, (completed_at AT TIME ZONE :tz)::date, 0, 1,
                 CASE WHEN completed_at <= due_at THEN 1 ELSE 0 END
          FROM dossier_unit WHERE completed_at IS NOT NULL) AS event
    GROUP BY code, after_reform, day
)
SELECT s.unit_code, s.period, s.received_count, s.completed_count, s.completed_on_time_count,
       (SELECT u.level FROM ref.admin_unit u WHERE u.code = s.unit_code
          AND {valid_on_sql("u", "s.period_end")} LIMIT 1) AS level,
       CAST(coalesce(sum(dl.received), 0) AS bigint) AS received,
       CAST(coalesce(sum(dl.completed), 0) AS bigint) AS completed,
       CAST(coalesce(sum(dl.on_time), 0) AS bigint) AS on_time
FROM stat s
JOIN tree t ON t.unit_code = s.unit_code AND t.period = s.period
LEFT JOIN daily dl ON dl.code = t.code AND dl.after_reform = (s.period_end >= :reform)
     AND dl.day BETWEEN s.period_start AND s.period_end
GROUP BY s.unit_code, s.period, s.period_end, s.received_count, s.completed_count, s.completed_on_time_count
ORDER BY s.period, s.unit_code
""")  # noqa: S608 - composed of constant SQL (valid_on_sql); every value is a bound parameter
METRICS = (("received", "received_count"), ("completed", "completed_count"), ("on_time", "completed_on_time_count"))


@reconciliation_check("dossiers", finds=("dossier_statistics",), direction="upward", levels=LEVELS,
                      periods=("day", "month"))
def dossier_statistics(conn: Connection, scope: Scope) -> list[Finding]:
    """a unit's reported received/completed/on-time counts equal its dossiers' (successor communes after the reform)"""
    findings = []
    reform_at = datetime.combine(scope.reform, time(0), ZoneInfo(scope.tz))
    params = {"period": scope.period, "reform": scope.reform, "reform_at": reform_at, "tz": scope.tz}
    for r in conn.execute(DOSSIER_STATISTICS, params).mappings():
        for computed, reported in METRICS:
            if r[computed] != r[reported]:
                findings.append(Finding(
                    "dossier_statistics", r["unit_code"], r["period"], reported, r["level"],
                    expected=r[computed], found=r[reported], difference=r[reported] - r[computed],
                    detail=f"{r['unit_code']} reports {reported} = {r[reported]} for {r['period']}; "
                           f"its dossiers give {r[computed]}"))
    return findings
