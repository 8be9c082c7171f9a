"""The departments registry (``departments.yaml``, beside ``sources.yaml``), read and checked
before anything uses it.

A department is one of the hub's three kinds of users: it owns sources (the systems it runs)
and governs administrative units (a province, a district until the 2025 reform, a commune on
either side of it). What it may read follows from that, so the registry is data and the
database enforces it (``access/policies.py``): nothing here decides a row's visibility.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from common.errors import HubError

CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
UNIT_RE = re.compile(r"^[0-9]{2}$|^[0-9]{3}$|^[0-9]{5}$")
LEVELS = ("province", "district", "commune")
ERAS = ("legacy", "2025")
ROLE_PREFIX = "dept_"


class DepartmentsError(HubError, ValueError):
    """departments.yaml is missing, malformed or names something that does not exist."""


@dataclass(frozen=True)
class Unit:
    code: str
    era: str


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    level: str
    units: tuple[Unit, ...] = ()
    sources: tuple[str, ...] = ()

    @property
    def role(self) -> str:
        """Its NOLOGIN group role: the code is checked against CODE_RE, so the name is safe."""
        return ROLE_PREFIX + self.code


@dataclass(frozen=True)
class Registry:
    departments: dict[str, Department]
    shared_datasets: tuple[str, ...] = ()
    """Datasets every department reads whole (reference data, published indicators)."""

    def get(self, code: str) -> Department:
        if code not in self.departments:
            raise DepartmentsError(f"no department {code!r} in departments.yaml "
                                   f"(known: {', '.join(self.departments) or 'none'})")
        return self.departments[code]

    def owners(self, sources: dict) -> dict[str, str]:
        """Source name -> owning department code."""
        return {s: d.code for d in self.departments.values() for s in d.sources if s in sources}


def departments_path() -> Path:
    from pipeline.config import sources_path

    return Path(os.environ.get("HUB_DEPARTMENTS", sources_path().parent / "departments.yaml"))


def load_departments(path: Path | None = None, sources: dict | None = None) -> Registry:
    """The registry, checked: codes, levels, eras, unit codes, sources that exist, schemas that exist."""
    from schemas import all_schema_names

    path = Path(path or departments_path())
    if not path.is_file():
        raise DepartmentsError(f"departments file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DepartmentsError(f"{path.name}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    where = path.name
    unknown = set(data) - {"departments", "shared_datasets"}
    if unknown:
        raise DepartmentsError(f"{where}: unknown keys: {', '.join(sorted(map(str, unknown)))}")
    shared = tuple(data.get("shared_datasets") or ())
    schemas = set(all_schema_names())
    bad = [s for s in shared if s not in schemas]
    if bad:
        raise DepartmentsError(f"{where}: shared_datasets names unknown dataset(s) {', '.join(map(str, bad))} "
                               f"(known: {', '.join(sorted(schemas))})")
    departments: dict[str, Department] = {}
    owner_of: dict[str, str] = {}
    for entry in data.get("departments") or []:
        dept = _department(entry, where, sources)
        if dept.code in departments:
            raise DepartmentsError(f"{where}: department {dept.code!r} is declared twice")
        for s in dept.sources:
            if s in owner_of:
                raise DepartmentsError(f"{where}: source {s!r} is owned by both {owner_of[s]} and {dept.code}")
            owner_of[s] = dept.code
        departments[dept.code] = dept
    return Registry(departments, shared)


def _department(entry, where: str, sources: dict | None) -> Department:
    if not isinstance(entry, dict):
        raise DepartmentsError(f"{where}: each department is a mapping with code, name, level, units, sources")
    code = str(entry.get("code", ""))
    if not CODE_RE.match(code):
        raise DepartmentsError(f"{where}: department code {code!r} must match {CODE_RE.pattern}")
    unknown = set(entry) - {"code", "name", "level", "units", "sources"}
    if unknown:
        raise DepartmentsError(f"{where}: department {code!r} has unknown keys: {', '.join(sorted(unknown))}")
    level = entry.get("level")
    if level not in LEVELS:
        raise DepartmentsError(f"{where}: department {code!r} has level {level!r} (known: {', '.join(LEVELS)})")
    units = []
    for u in entry.get("units") or []:
        unit = Unit(str(u.get("code", "")), str(u.get("era", ""))) if isinstance(u, dict) else Unit("", "")
        if not UNIT_RE.match(unit.code) or unit.era not in ERAS:
            raise DepartmentsError(f"{where}: department {code!r}: unit {u!r} needs a code (2, 3 or 5 digits) "
                                   f"and an era ({', '.join(ERAS)})")
        if level == "district" and unit.era != "legacy":
            raise DepartmentsError(f"{where}: department {code!r} is a district, and districts ended on "
                                   f"2025-06-30: its units are of the legacy era")
        units.append(unit)
    owned = tuple(str(s) for s in entry.get("sources") or ())
    if sources is not None:
        missing = [s for s in owned if s not in sources]
        if missing:
            raise DepartmentsError(f"{where}: department {code!r} owns unknown source(s) {', '.join(missing)} "
                                   f"(not in sources.yaml)")
    return Department(code, str(entry.get("name") or code), level, tuple(units), owned)
