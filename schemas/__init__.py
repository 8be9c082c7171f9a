"""The province's shared schemas, each declared once as data (``schemas/<name>.yaml``).

A schema file is the single source of a warehouse table, the mapping checks a source's
records go through, and the Great Expectations suite that validates them. Nothing about a
schema is written by hand anywhere else, so adding an optional field is an edit of one file.
"""
from __future__ import annotations

from common.errors import HubError

from dataclasses import dataclass, field, replace
from datetime import date
import os
from typing import Any
from functools import cache
from pathlib import Path

import yaml

SCHEMA_DIR = Path(__file__).parent


def schema_dir() -> Path:
    """``HUB_SCHEMAS_DIR`` or the shipped folder: a deployment may keep its schema files apart."""
    return Path(os.environ.get("HUB_SCHEMAS_DIR", SCHEMA_DIR))
FIELD_TYPES = {"string", "timestamp", "date", "integer", "decimal", "boolean"}


class SchemaError(HubError, ValueError):
    """A schema file that does not describe a usable contract."""


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "string"
    required: bool = False
    description: str = ""
    max_length: int | None = None
    pattern: str | None = None
    code_list: str | None = None
    """Values must be codes of this list in ref.code_list (the hub's catalogue, not the schema)."""
    not_in_future: bool = False
    min: Any = None
    """The least plausible value: a number, or for a date or timestamp a day (ISO: 1900-01-01)."""
    max: Any = None
    """The greatest plausible value, as ``min``. A date field states ``min`` and ``max`` or
    ``not_in_future``: an implausible day (1800-01-01, 2999-01-01) is quarantined, not loaded."""
    not_before: str | None = None
    admin_unit_at: str | None = None
    """An administrative unit code that must name a unit on the date in this field."""
    admin_unit_list_at: str | None = None
    """Administrative unit codes separated by ';', each of which must name a unit on this field's date."""
    format: str | None = None
    """A domain format with its own check, registered in quality/formats/ (cccd, vn_tax_code, name, ...)."""
    birth_date_field: str | None = None
    sex_field: str | None = None
    pii: bool = False
    """Personal data. With protect: hashed, the warehouse keeps a keyed hash and a masked form only."""
    protect: str | None = None
    keep_raw: bool = False
    """Only with protect: also keep the raw value, in a privileged column <name>_raw."""


@dataclass(frozen=True)
class Schema:
    name: str
    version: str
    title: str
    natural_key: tuple[str, ...]
    fields: tuple[Field, ...]
    description: str = ""
    path: Path | None = field(default=None, compare=False)

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def protected(self) -> list[Field]:
        return [f for f in self.fields if f.protect]

    @property
    def stored_key(self) -> tuple[str, ...]:
        """The natural key as stored: a protected field is keyed by its hash."""
        names = {f.name for f in self.protected}
        return tuple(f"{k}_hash" if k in names else k for k in self.natural_key)

    def definition(self) -> dict:
        """What the warehouse depends on, for telling minor from major changes."""
        return {"natural_key": list(self.natural_key),
                "fields": {f.name: {"type": f.type, "required": f.required, "protect": f.protect,
                                    "keep_raw": f.keep_raw, "max_length": f.max_length} for f in self.fields}}

    @property
    def required_fields(self) -> list[str]:
        return [f.name for f in self.fields if f.required]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise SchemaError(f"schema {self.name!r} has no field {name!r}")


def _format_problems(f: Field) -> list[str]:
    from quality.formats import formats  # the registry reads no Great Expectations

    known = formats()
    if f.format not in known:
        return [f"{f.name}: unknown format {f.format!r} (known: {', '.join(known)})"]
    if f.type not in known[f.format].applies_to:
        return [f"{f.name}: format {f.format!r} applies to {', '.join(known[f.format].applies_to)} fields, "
                f"not {f.type}"]
    return []


def _parse(data: dict, path: Path | None) -> Schema:
    where = path.name if path else "schema"
    try:
        fields = tuple(Field(**f) for f in data["fields"])
        schema = Schema(
            name=data["name"],
            version=str(data["version"]),
            title=data.get("title", data["name"]),
            description=data.get("description", ""),
            natural_key=tuple(data["natural_key"]),
            fields=fields,
            path=path,
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise SchemaError(f"{where}: malformed schema ({exc})") from exc
    problems = []
    bounded = []
    for f in fields:  # a day's bound as a date, however YAML read it; a number's as a number
        try:
            kind = date.fromisoformat if f.type in ("date", "timestamp") else float
            bounded.append(replace(f, **{b: kind(str(getattr(f, b))) for b in ("min", "max")
                                         if getattr(f, b) is not None}))
        except ValueError as exc:
            problems.append(f"{f.name}: bad bound ({exc})")
            bounded.append(f)
    fields = tuple(bounded)
    schema = replace(schema, fields=fields)
    names = schema.field_names
    problems += [f"unknown type {f.type!r} for {f.name}" for f in fields if f.type not in FIELD_TYPES]
    problems += [f"natural key {k!r} is not a field" for k in schema.natural_key if k not in names]
    for f in fields:
        for key in ("not_before", "admin_unit_at", "admin_unit_list_at", "birth_date_field", "sex_field"):
            other = getattr(f, key)
            if other and other not in names:
                problems.append(f"{f.name}.{key} names unknown field {other!r}")
        if f.format:
            problems += _format_problems(f)
        if f.type in ("date", "timestamp") and (f.min is None or (f.max is None and not f.not_in_future)):
            problems.append(f"{f.name}: a {f.type} field states its bounds (min, and max or not_in_future)")
        if f.min is not None and f.max is not None and f.min > f.max:
            problems.append(f"{f.name}: min is above max")
        if f.protect and f.protect != "hashed":
            problems.append(f"{f.name}: protect must be 'hashed'")
    if len(set(names)) != len(names):
        problems.append("duplicate field names")
    if not all(p.isdigit() for p in schema.version.split(".")) or schema.version.count(".") != 1:
        problems.append(f"version {schema.version!r} is not major.minor")
    if problems:
        raise SchemaError(f"{where}: " + "; ".join(problems))
    return schema


def load_schema_file(path: Path) -> Schema:
    return _parse(yaml.safe_load(Path(path).read_text(encoding="utf-8")), Path(path))


def get_schema(name: str) -> Schema:
    path = schema_dir() / f"{name}.yaml"
    if not path.exists():
        known = ", ".join(all_schema_names()) or "none"
        raise SchemaError(f"no schema named {name!r} (known: {known})")
    return _load_cached(path, path.stat().st_mtime_ns)


@cache
def _load_cached(path: Path, _mtime: int) -> Schema:
    return load_schema_file(path)


def all_schema_names() -> list[str]:
    return sorted(p.stem for p in schema_dir().glob("*.yaml"))


def all_schemas() -> list[Schema]:
    return [get_schema(n) for n in all_schema_names()]
