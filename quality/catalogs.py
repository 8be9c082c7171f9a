"""Reference data the checks read, loaded from the warehouse's ``ref`` tables once per run.

Great Expectations passes an expectation's arguments into its results, so a list of ten
thousand administrative units can't travel as an argument; the checks name a catalogue and
read it from here instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Engine, select

from warehouse.tables import admin_unit, admin_unit_crosswalk, code_list


@dataclass
class Catalogs:
    admin_units: pd.DataFrame = field(default_factory=pd.DataFrame)
    """code, name, level, era, valid_from, valid_to (as Timestamps; NaT is open)."""
    successor: dict[str, str] = field(default_factory=dict)
    """Legacy code -> 'code name' of its default 2025 successor, for reasons."""
    code_lists: dict[str, list[str]] = field(default_factory=dict)


_current = Catalogs()


def current() -> Catalogs:
    return _current


def use(catalogs: Catalogs) -> None:
    global _current
    _current = catalogs


def load(engine: Engine) -> Catalogs:
    with engine.connect() as conn:
        units = pd.DataFrame(conn.execute(
            select(admin_unit.c.code, admin_unit.c.name, admin_unit.c.level, admin_unit.c.era,
                   admin_unit.c.province_code, admin_unit.c.valid_from, admin_unit.c.valid_to)
            .where(admin_unit.c.superseded_at.is_(None))).mappings().all(),
            columns=["code", "name", "level", "era", "province_code", "valid_from", "valid_to"])
        links = conn.execute(select(admin_unit_crosswalk).where(admin_unit_crosswalk.c.is_default)).mappings().all()
        lists: dict[str, list[str]] = {}
        for name, code in conn.execute(select(code_list.c.list_name, code_list.c.code)
                                       .order_by(code_list.c.list_name, code_list.c.code)):
            lists.setdefault(name, []).append(code)
    for col in ("valid_from", "valid_to"):
        units[col] = pd.to_datetime(units[col])
    new_names = dict(zip(units.loc[units.era == "2025", "code"], units.loc[units.era == "2025", "name"]))
    successor = {lk["legacy_code"]: f"{lk['new_code']} {new_names.get(lk['new_code'], '')}".strip() for lk in links}
    return Catalogs(admin_units=units, successor=successor, code_lists=lists)
