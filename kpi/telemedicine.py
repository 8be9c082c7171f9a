"""Telemedicine (hội chẩn từ xa): consultations per requesting unit, facility and specialty per
month (of the request); the share concluded remotely (of those held, not cancelled) and the
median duration in minutes (start to end of the session)."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, text

from kpi import Figure, Settings, local, rate, register
from refdata.admin_units import REFORM

CONSULTATIONS = text("""
SELECT consultation_id, requesting_facility_code AS facility_code, requesting_unit_code AS unit, specialty,
       requested_at, started_at, ended_at, outcome
FROM core.teleconsultation
""")


@register
class Telemedicine(Figure):
    name, title = "telemedicine", "Telemedicine"
    dims = ("facility_code", "specialty")
    measures = {"consultations": ("one", "sum"), "held": ("held", "sum"),
                "concluded_remotely": ("concluded", "sum"), "duration_minutes_median": ("minutes", "median")}
    derived = ("concluded_share",)

    def facts(self, conn: Connection, geo, settings: Settings) -> pd.DataFrame:
        c = pd.DataFrame(conn.execute(CONSULTATIONS).mappings().all(),
                         columns=["consultation_id", "facility_code", "unit", "specialty", "requested_at",
                                  "started_at", "ended_at", "outcome"])
        for col in ("requested_at", "started_at", "ended_at"):
            c[col] = local(c[col])
        return c.assign(period=c["requested_at"].dt.strftime("%Y-%m"),
                        era=["legacy" if r < pd.Timestamp(REFORM) else "2025" for r in c["requested_at"]], one=1,
                        held=(c["outcome"] != "cancelled").astype(int),
                        concluded=(c["outcome"] == "concluded_remotely").astype(int),
                        minutes=(c["ended_at"] - c["started_at"]).dt.total_seconds() / 60)

    def finish(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(concluded_share=rate(frame["concluded_remotely"], frame["held"]),
                            duration_minutes_median=frame["duration_minutes_median"].astype(float).round(2))
