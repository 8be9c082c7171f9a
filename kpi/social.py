"""Social protection (bảo trợ xã hội): beneficiaries on the communes' monthly lists per commune
and benefit type, and people on two communes' lists in the same month (a double-payment risk).

People are counted by the keyed hash of their citizen ID, never the number. On the 2025 map a
legacy commune's list counts at its successor: two legacy communes merged into one are one
commune there, so a person on both their lists is not double-listed on that map.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, text

from kpi import Figure, Settings, register
from kpi.geo import era_of

LISTS = text("""
SELECT citizen_id_hash, commune_code, benefit_type, to_char(list_month, 'YYYY-MM') AS period
FROM core.social_beneficiary WHERE list_level = 'commune'
""")


@register
class Social(Figure):
    name, title = "social", "Social protection"
    dims = ("benefit_type",)
    measures = {"beneficiaries": ("citizen_id_hash", "nunique"), "double_listed": ("double_hash", "nunique")}

    def facts(self, conn: Connection, geo, settings: Settings) -> pd.DataFrame:
        rows = pd.DataFrame(conn.execute(LISTS).mappings().all(),
                            columns=["citizen_id_hash", "commune_code", "benefit_type", "period"])
        return rows.assign(unit=rows["commune_code"], era=[era_of(p) for p in rows["period"]])

    def _place(self, facts: pd.DataFrame, geo, geography: str) -> pd.DataFrame:
        placed = super()._place(facts, geo, geography)
        communes = placed[placed["level"] == "commune"]
        many = communes.groupby("citizen_id_hash")["unit_code"].nunique()
        double = set(many[many > 1].index)
        return placed.assign(double_hash=placed["citizen_id_hash"].where(placed["citizen_id_hash"].isin(double)))
