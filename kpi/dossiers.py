"""One-stop dossiers (hồ sơ một cửa), with the definitions provincial portals publish.

For a month: dossiers to handle = received in the month + carried over (received before it and
still open at its start); each is completed on time, completed late, in progress not yet due or
in progress overdue at the month's end; *about to be late*: in progress, not yet due, due within
``due_within_days`` working days of the month's end. Late rate = (in progress overdue +
completed late) / to handle; on-time rate = 100% - late rate; online rate = received online /
received. Rejected and withdrawn dossiers are not handled to a result and are left out. A dossier
received before 2025-07-01 and still open after counts at the commune that took over.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, text

from kpi import Figure, Settings, local, rate, register
from kpi.geo import month_bounds, months_between
from refdata.admin_units import REFORM
from refdata.working_days import calendar

DOSSIERS = text("""
SELECT dossier_code, procedure_code, receiving_agency, admin_unit_code, received_at, due_at, completed_at, channel
FROM core.dossier WHERE status NOT IN ('rejected', 'withdrawn')
""")


@register
class Dossiers(Figure):
    name, title = "dossier", "One-stop dossiers"
    dims = ("receiving_agency", "procedure_code")
    measures = {k: (k, "sum") for k in ("received", "carried_over", "to_handle", "completed_on_time", "completed_late",
                                         "in_progress_not_due", "in_progress_overdue", "about_to_be_late",
                                         "received_online")}
    derived = ("late_rate", "on_time_rate", "online_rate", "about_to_be_late_days")

    def facts(self, conn: Connection, geo, settings: Settings) -> pd.DataFrame:
        self.due_within_days = settings.due_within_days
        d = pd.DataFrame(conn.execute(DOSSIERS).mappings().all())
        if d.empty:
            return pd.DataFrame(columns=["period", "era", "unit", *self.dims, *self.measures])
        for col in ("received_at", "due_at", "completed_at"):
            d[col] = local(d[col])
        last = max(d["received_at"].max(), d["completed_at"].max() if d["completed_at"].notna().any()
                   else d["received_at"].max())
        parts = []
        for period in months_between(f"{d['received_at'].min():%Y-%m}", f"{last:%Y-%m}"):
            parts.append(month_facts(d, period, settings.due_within_days))
        return pd.concat(parts, ignore_index=True)

    def finish(self, frame: pd.DataFrame) -> pd.DataFrame:
        late = rate(frame["in_progress_overdue"] + frame["completed_late"], frame["to_handle"])
        return frame.assign(late_rate=late, on_time_rate=(100 - late).round(2),
                            online_rate=rate(frame["received_online"], frame["received"]),
                            about_to_be_late_days=self.due_within_days)


def month_facts(d: pd.DataFrame, period: str, due_within_days: int) -> pd.DataFrame:
    """Each dossier's standing in one month (one row per dossier to handle)."""
    first, last = month_bounds(period)
    start, after = pd.Timestamp(first), pd.Timestamp(last) + pd.Timedelta(days=1)
    received = (d["received_at"] >= start) & (d["received_at"] < after)
    carried = (d["received_at"] < start) & (d["completed_at"].isna() | (d["completed_at"] >= start))
    m = d[received | carried].copy()
    received, carried = received[m.index], carried[m.index]
    done = m["completed_at"].notna() & (m["completed_at"] < after)
    on_time = done & (m["due_at"].isna() | (m["completed_at"] <= m["due_at"]))
    overdue = ~done & m["due_at"].notna() & (m["due_at"] < after)
    not_due = ~done & ~overdue
    horizon = pd.Timestamp(calendar().add_working_days(last, due_within_days)) + pd.Timedelta(days=1)
    about = not_due & m["due_at"].notna() & (m["due_at"] < horizon)
    reform = pd.Timestamp(REFORM)
    return pd.DataFrame({
        "period": period, "unit": m["admin_unit_code"],
        # the map the code is read on: the era it was received in (a legacy dossier still open in a
        # 2025 month goes to its successor, the same as on the 2025 map)
        "era": ["legacy" if r < reform else "2025" for r in m["received_at"]],
        "receiving_agency": m["receiving_agency"], "procedure_code": m["procedure_code"],
        "received": received.astype(int), "carried_over": carried.astype(int), "to_handle": 1,
        "completed_on_time": on_time.astype(int), "completed_late": (done & ~on_time).astype(int),
        "in_progress_not_due": not_due.astype(int), "in_progress_overdue": overdue.astype(int),
        "about_to_be_late": about.astype(int),
        "received_online": (received & (m["channel"] == "online")).astype(int)})

