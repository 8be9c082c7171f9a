"""Reporting discipline: the share of units that sent their monthly indicator report, and on time.

Expected: every commune, district (before the reform) and the province on the map of the month.
A unit reported when any indicator of the month came from it; on time when it was sent (its
earliest ``reported_at``) within ``report_due_days`` working days of the month's end. On the 2025
map a legacy month's commune counts at its successor, which reported (on time) when every
legacy commune it took over did (the province likewise; districts have no counterpart there).
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, text

from kpi import Figure, Settings, local, rate, register
from kpi.geo import era_of, month_bounds
from refdata.working_days import calendar

REPORTS = text("""
SELECT reporting_unit_code AS unit, period, min(reported_at) AS sent_at
FROM core.indicator_report WHERE period_type = 'month' GROUP BY reporting_unit_code, period
""")


@register
class Reporting(Figure):
    name, title = "reporting", "Reporting discipline"
    fixed = ("unit_level",)
    measures = {"expected": ("one", "sum"), "reported": ("reported", "sum"), "on_time": ("on_time", "sum")}
    derived = ("reported_share", "on_time_share", "report_due_days")

    def facts(self, conn: Connection, geo, settings: Settings) -> pd.DataFrame:
        self.due = settings.report_due_days
        sent = pd.DataFrame(conn.execute(REPORTS).mappings().all(), columns=["unit", "period", "sent_at"])
        sent["sent_at"] = local(sent["sent_at"])
        parts = []
        for period, reports in sent.groupby("period"):
            era = era_of(period)
            deadline = pd.Timestamp(calendar().add_working_days(month_bounds(period)[1], self.due)) + pd.Timedelta(days=1)
            expected = [code for (e, code), (level, _, _) in geo.units.items()
                        if e == era and level in ("commune", "district", "province")]
            by_unit = reports.set_index("unit")["sent_at"]
            parts.append(pd.DataFrame({
                "period": period, "era": era, "unit": expected,
                "reported": [int(u in by_unit.index) for u in expected],
                "on_time": [int(u in by_unit.index and pd.notna(by_unit[u]) and by_unit[u] < deadline) for u in expected],
                "one": 1}))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
            columns=["period", "era", "unit", "reported", "on_time", "one"])

    def _place(self, facts: pd.DataFrame, geo, geography: str) -> pd.DataFrame:
        if facts["era"].iloc[0] != geography:  # re-expressed: one fact per successor, all predecessors needed
            facts = facts[[geo.level("legacy", u) != "district" for u in facts["unit"]]]  # no 2025 counterpart
            facts = facts.assign(unit=[geo.on(u, "legacy", geography) for u in facts["unit"]]).dropna(subset=["unit"])
            facts = facts.groupby(["period", "unit"], as_index=False).agg(
                reported=("reported", "min"), on_time=("on_time", "min")).assign(era=geography, one=1)
        facts = facts.assign(unit_level=[geo.level(geography, u) for u in facts["unit"]])
        return super()._place(facts, geo, geography)

    def finish(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(reported_share=rate(frame["reported"], frame["expected"]),
                            on_time_share=rate(frame["on_time"], frame["expected"]), report_due_days=self.due)
