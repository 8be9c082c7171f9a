"""The map a figure is read on: each period on its own (legacy units until 2025-06-30, the 2025
units after), or every period on the 2025 map.

A unit code is read with a date (codes were reused by the reform). On the 2025 map a legacy
commune counts at the crosswalk's default successor (a divided commune counts whole there, as in
``sync/geography.py``), a legacy district and province at the 2025 province that took them over;
so does a dossier received before 2025-07-01 that is still open after it, on either map.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import Connection, select

from refdata.admin_units import REFORM
from warehouse.tables import admin_unit, admin_unit_crosswalk

GEOGRAPHIES = ("legacy", "2025")
LEVELS = ("province", "district", "commune")


def era_of(period: str) -> str:
    """The map a month is recorded on."""
    return "legacy" if period < f"{REFORM:%Y-%m}" else "2025"


def maps_for(period: str) -> list[str]:
    """The maps a month's figures are computed on: a legacy month on both, a 2025 month on its own."""
    return list(GEOGRAPHIES) if era_of(period) == "legacy" else ["2025"]


@dataclass
class Map:
    """Units and their parents per era, and the 2025 successor of each legacy unit."""

    units: dict[tuple[str, str], tuple[str, str | None, str]]
    """(era, code) -> (level, parent code, name)."""
    successor: dict[str, str]
    """Legacy code -> the 2025 unit that took it over (communes: default successor; districts and
    provinces: the 2025 province)."""

    def level(self, era: str, code: str) -> str | None:
        unit = self.units.get((era, code))
        return unit[0] if unit else None

    def name(self, era: str, code: str) -> str:
        unit = self.units.get((era, code))
        return unit[2] if unit else ""

    def on(self, code: str, recorded_era: str, geography: str) -> str | None:
        """The unit ``code`` (read in ``recorded_era``) counts at on ``geography``'s map."""
        if recorded_era == "legacy" and geography == "2025":
            return self.successor.get(code)
        return code if (recorded_era, code) in self.units else None

    def ancestry(self, era: str, code: str) -> list[str]:
        """The unit and its ancestors up to the province (central excluded)."""
        out = []
        while code and (era, code) in self.units:
            level, parent, _ = self.units[(era, code)]
            if level not in LEVELS:
                break
            out.append(code)
            code = parent
        return out


def load_map(conn: Connection) -> Map:
    units: dict[tuple[str, str], tuple[str, str | None, str]] = {}
    for r in conn.execute(select(admin_unit.c.code, admin_unit.c.level, admin_unit.c.parent_code, admin_unit.c.name,
                                 admin_unit.c.era).where(admin_unit.c.superseded_at.is_(None))):
        units[(r.era, r.code)] = (r.level, r.parent_code, r.name)
    successor: dict[str, str] = {}
    links = conn.execute(select(admin_unit_crosswalk.c.legacy_code, admin_unit_crosswalk.c.new_code,
                                admin_unit_crosswalk.c.level).where(admin_unit_crosswalk.c.is_default)).all()
    for legacy, new, level in links:
        successor[legacy] = new
    provinces = {legacy: new for legacy, new, level in links if level == "province"}
    for (era, code), (level, parent, _) in units.items():
        if era == "legacy" and level == "district" and parent in provinces:
            successor.setdefault(code, provinces[parent])
    return Map(units, successor)


def month_bounds(period: str) -> tuple[date, date]:
    start = date.fromisoformat(f"{period}-01")
    end = (pd.Timestamp(start) + pd.offsets.MonthEnd(0)).date()
    return start, end


def months_between(first: str, last: str) -> list[str]:
    return [f"{p:%Y-%m}" for p in pd.period_range(first, last, freq="M")]
