"""Extract Vietnam's administrative units from the ``vietnamadminunits`` package.

The package ships the units before the 2025 reform (63 provinces, 696 district-level units,
10,035 communes) and after it (34 provinces, 3,321 communes, no districts), and the
crosswalk between them keyed by *name keys*. Its files are read directly (sqlite and JSON,
located without importing the package, whose import compiles parsers and pulls in geocoding
libraries we never use). Codes are reused across the reform with another meaning (province
24 was Bắc Giang and is now the new Bắc Ninh), so every unit carries its era and validity.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date
from importlib.util import find_spec
from pathlib import Path

REFORM = date(2025, 7, 1)
"""Communes and the 34 provinces operate from this day; districts end the day before."""
LEGACY_UNTIL = date(2025, 6, 30)
CENTRAL = "VN"
TYPES = ["Thành phố", "Thị trấn", "Thị xã", "Đặc khu", "Phường", "Huyện", "Quận", "Tỉnh", "Xã"]


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    type: str
    level: str  # central | province | district | commune
    parent_code: str | None
    province_code: str | None
    era: str  # legacy | 2025 | permanent
    valid_from: date | None
    valid_to: date | None


@dataclass(frozen=True)
class Link:
    level: str  # province | commune | district
    legacy_code: str
    new_code: str
    is_default: bool


def data_dir() -> Path:
    spec = find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the vietnamadminunits package is not installed")
    return Path(spec.submodule_search_locations[0]) / "data"


def type_from_name(name: str) -> str:
    """The type word leads the name; the package's type column is wrong in a few rows."""
    low = name.lower()
    for t in TYPES:
        if low.startswith(t.lower() + " "):
            return t
    raise ValueError(f"no unit type in name {name!r}")


def _connect() -> sqlite3.Connection:
    return sqlite3.connect(f"file:{data_dir() / 'dataset.db'}?mode=ro", uri=True)


def province_links() -> list[Link]:
    with _connect() as con:
        legacy = dict(con.execute("SELECT DISTINCT provinceKey, provinceCode FROM admin_units_legacy"))
        new = dict(con.execute("SELECT DISTINCT provinceKey, provinceCode FROM admin_units"))
    conv = json.loads((data_dir() / "converter_2025.json").read_text(encoding="utf-8"))
    return [Link("province", legacy[lk], new[nk], True)
            for nk, lks in conv["DICT_PROVINCE"].items() for lk in lks]


def scope(legacy_provinces: list[str] | None) -> tuple[set[str] | None, set[str] | None]:
    """Legacy and 2025 province codes to keep for the province(s) the hub serves.

    A served legacy province keeps its 2025 successor, and every legacy province merged into
    that successor too, so data from both sides of the reform can be reconciled.
    """
    if legacy_provinces is None:
        return None, None
    links = province_links()
    new = {lk.new_code for lk in links if lk.legacy_code in legacy_provinces}
    legacy = {lk.legacy_code for lk in links if lk.new_code in new}
    return legacy, new


def units(legacy_provinces: list[str] | None = None) -> list[Unit]:
    keep_legacy, keep_new = scope(legacy_provinces)
    out = [Unit(CENTRAL, "Việt Nam", "Quốc gia", "central", None, None, "permanent", None, None)]
    with _connect() as con:
        for code, name in con.execute("SELECT DISTINCT provinceCode, province FROM admin_units_legacy"):
            out.append(Unit(code, name, type_from_name(name), "province", CENTRAL, code, "legacy", None, LEGACY_UNTIL))
        for code, name, prov in con.execute(
                "SELECT DISTINCT districtCode, district, provinceCode FROM admin_units_legacy"):
            out.append(Unit(code, name, type_from_name(name), "district", prov, prov, "legacy", None, LEGACY_UNTIL))
        for code, name, dist, prov in con.execute(
                "SELECT wardCode, ward, districtCode, provinceCode FROM admin_units_legacy WHERE wardCode IS NOT NULL"):
            out.append(Unit(code, name, type_from_name(name), "commune", dist, prov, "legacy", None, LEGACY_UNTIL))
        for code, name in con.execute("SELECT DISTINCT provinceCode, province FROM admin_units"):
            out.append(Unit(code, name, type_from_name(name), "province", CENTRAL, code, "2025", REFORM, None))
        for code, name, prov in con.execute("SELECT wardCode, ward, provinceCode FROM admin_units"):
            out.append(Unit(code, name, type_from_name(name), "commune", prov, prov, "2025", REFORM, None))
    return [u for u in out if u.era == "permanent"
            or (keep_legacy is None or u.era != "legacy" or u.province_code in keep_legacy)
            and (keep_new is None or u.era != "2025" or u.province_code in keep_new)]


def crosswalk(legacy_provinces: list[str] | None = None) -> list[Link]:
    """Legacy commune -> 2025 commune (one default per divided commune), legacy province -> 2025 province.

    The package keys its crosswalk by name keys (province_district_ward); they are joined
    back to codes through the key columns of its database, exactly as the package resolves
    an address. The five island districts that had no communes map as districts.
    """
    keep_legacy, _ = scope(legacy_provinces)
    with _connect() as con:
        legacy = {f"{p}_{d}_{w or ''}": (code or dcode, prov) for p, d, w, code, dcode, prov in con.execute(
            "SELECT provinceKey, districtKey, wardKey, wardCode, districtCode, provinceCode FROM admin_units_legacy")}
        new = {(p, w): code for p, w, code in con.execute("SELECT provinceKey, wardKey, wardCode FROM admin_units")}
    conv = json.loads((data_dir() / "converter_2025.json").read_text(encoding="utf-8"))
    links = province_links()
    for npk, wards in conv["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for nwk, old_keys in wards.items():
            for ok in old_keys:
                code, _ = legacy[ok]
                links.append(Link("district" if ok.endswith("_") else "commune", code, new[(npk, nwk)], True))
    for npk, olds in conv["DICT_PROVINCE_WARD_DIVIDED"].items():
        for ok, targets in olds.items():
            for t in targets:
                links.append(Link("commune", legacy[ok][0], new[(npk, t["newWardKey"])], bool(t["isDefaultNewWard"])))
    if keep_legacy is None:
        return links
    province_of = {code: prov for code, prov in legacy.values()}
    return [lk for lk in links if (lk.legacy_code if lk.level == "province" else province_of.get(lk.legacy_code))
            in keep_legacy]
