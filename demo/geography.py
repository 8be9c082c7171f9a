"""The simulated province's map: legacy Bắc Giang before 2025-07-01, new Bắc Ninh after.

Read from vietnamadminunits through ``refdata.admin_units``, the same units the warehouse's
``ref`` tables hold, so every code the generator writes is one the checks accept at its date.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from functools import cache

from refdata.admin_units import REFORM as REFORM_DAY, crosswalk, units

PROVINCE = "24"
REFORM = datetime.combine(REFORM_DAY, time())
"""The first moment of the 2025 map (``REFORM_DAY``, its first day): a record before it names a legacy unit."""


@dataclass(frozen=True)
class Geography:
    districts: dict[str, list[str]]
    """Legacy Bắc Giang: district code -> its communes (valid until 2025-06-30)."""
    communes_2025: list[str]
    """Every commune of new Bắc Ninh (code 24) from 2025-07-01: the province's children after the reform."""
    bac_giang_2025: list[str]
    """The 2025 communes that were Bắc Giang's (the successors of its legacy communes)."""
    names: dict[tuple[str, str], str]
    """(code, era) -> name; codes were reused by the reform, so a name needs its era."""
    successor: dict[str, str]
    """Legacy commune -> the 2025 commune that took it over (the crosswalk's default)."""

    @property
    def legacy_communes(self) -> list[str]:
        return [c for communes in self.districts.values() for c in communes]

    def district_of(self, commune: str) -> str:
        return next(d for d, cs in self.districts.items() if commune in cs)


@cache
def bac_giang() -> Geography:
    all_units = units([PROVINCE])
    districts: dict[str, list[str]] = {}
    for u in all_units:
        if u.era == "legacy" and u.level == "district" and u.parent_code == PROVINCE:
            districts[u.code] = []
    for u in all_units:
        if u.era == "legacy" and u.level == "commune" and u.parent_code in districts:
            districts[u.parent_code].append(u.code)
    legacy = {c for cs in districts.values() for c in cs}
    new = sorted(u.code for u in all_units if u.era == "2025" and u.level == "commune")
    successor = {lk.legacy_code: lk.new_code for lk in crosswalk([PROVINCE])
                 if lk.level == "commune" and lk.is_default and lk.legacy_code in legacy}
    return Geography({d: sorted(cs) for d, cs in sorted(districts.items())}, new,
                     [c for c in new if c in set(successor.values())],
                     {(u.code, u.era): u.name for u in all_units}, successor)
