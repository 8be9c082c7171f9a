"""Reference data the checks read, loaded from the warehouse's ``ref`` tables once per run.

Great Expectations passes an expectation's arguments into its results, so a list of ten
thousand administrative units can't travel as an argument; the checks name a catalogue and
read it from here instead.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Engine, select, text

from warehouse.tables import admin_unit, admin_unit_crosswalk, code_list


@dataclass
class Catalogs:
    admin_units: pd.DataFrame = field(default_factory=pd.DataFrame)
    """code, name, level, era, valid_from, valid_to (as Timestamps; NaT is open)."""
    successor: dict[str, str] = field(default_factory=dict)
    """Legacy code -> 'code name' of its default 2025 successor, for reasons."""
    code_lists: dict[str, list[str]] = field(default_factory=dict)
    version: str | None = None
    """The digest of the ref tables these were loaded from (see :func:`load_current`)."""


_current = Catalogs()


def current() -> Catalogs:
    return _current


def use(catalogs: Catalogs) -> None:
    global _current
    _current = catalogs


VERSION = text(
    "SELECT md5(concat((SELECT string_agg(u::text, ';' ORDER BY unit_id) FROM ref.admin_unit u), '|', "
    "(SELECT string_agg(c::text, ';' ORDER BY level, legacy_code, new_code) FROM ref.admin_unit_crosswalk c), '|', "
    "(SELECT string_agg(l::text, ';' ORDER BY list_name, code) FROM ref.code_list l)))")
_loaded: dict[tuple[str, str], Catalogs] = {}


def load_current(engine: Engine) -> Catalogs:
    """The catalogues as the warehouse holds them now, loaded again only when they changed: the
    digest of the three ref tables is one small query, where a province's hundreds of sources
    each loading every unit cost a tenth of a second a run."""
    with engine.connect() as conn:
        version = conn.execute(VERSION).scalar()
    key = (engine.url.render_as_string(hide_password=True), version)
    if key not in _loaded:
        _loaded.clear()
        _loaded[key] = dataclasses.replace(load(engine), version=version)
    return _loaded[key]


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
