"""Online meetings (họp trực tuyến): meetings per host level, and participation (units connected
/ units invited) by the level of the invited units, down to communes.

Role ``host``: a meeting counts at its host unit (and the host's ancestors), by the host's level,
with the invitations it sent and the endpoints that connected. Role ``participant``: each
invitation counts at the invited unit, by its level. On the 2025 map a legacy commune counts at
its successor and a legacy district at the 2025 province that took it over.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, text

from kpi import Figure, Settings, local, rate, register
from refdata.admin_units import REFORM

MEETINGS = text("SELECT meeting_id, host_unit_code, started_at, invited_units, connected_units FROM core.online_meeting")


def _codes(value) -> list[str]:
    return [c.strip() for c in (value or "").split(";") if c.strip()]


@register
class Meetings(Figure):
    name, title = "meeting", "Online meetings"
    fixed = ("role", "unit_level")
    measures = {"meetings": ("meeting_id", "nunique"), "invited": ("invited", "sum"), "connected": ("connected", "sum")}
    derived = ("participation_rate",)

    def facts(self, conn: Connection, geo, settings: Settings) -> pd.DataFrame:
        m = pd.DataFrame(conn.execute(MEETINGS).mappings().all(),
                         columns=["meeting_id", "host_unit_code", "started_at", "invited_units", "connected_units"])
        m["started_at"] = local(m["started_at"])
        rows = []
        for r in m.to_dict("records"):
            period, era = f"{r['started_at']:%Y-%m}", "legacy" if r["started_at"] < pd.Timestamp(REFORM) else "2025"
            invited, connected = _codes(r["invited_units"]), set(_codes(r["connected_units"]))
            rows.append({"period": period, "era": era, "meeting_id": r["meeting_id"], "role": "host",
                         "unit": r["host_unit_code"], "invited": len(invited), "connected": len(connected & set(invited))})
            rows += [{"period": period, "era": era, "meeting_id": r["meeting_id"], "role": "participant", "unit": u,
                      "invited": 1, "connected": int(u in connected)} for u in invited]
        return pd.DataFrame(rows, columns=["period", "era", "meeting_id", "role", "unit", "invited", "connected"])

    def _place(self, facts: pd.DataFrame, geo, geography: str) -> pd.DataFrame:
        units = [geo.on(u, e, geography) for u, e in zip(facts["unit"], facts["era"])]
        facts = facts.assign(unit_level=[geo.level(geography, u) if u else None for u in units])
        return super()._place(facts, geo, geography)

    def finish(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(participation_rate=rate(frame["connected"], frame["invited"]))
