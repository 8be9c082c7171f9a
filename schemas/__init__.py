"""The province's shared schemas, each declared once as data (``schemas/<name>.yaml``).

A schema file is the single source of a warehouse table, the mapping checks a source's
records go through, and the Great Expectations suite that validates them. Nothing about a
schema is written by hand anywhere else, so adding an optional field is an edit of one file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

SCHEMA_DIR = Path(__file__).parent
FIELD_TYPES = {"string", "timestamp", "date", "integer", "decimal", "boolean"}


class SchemaError(ValueError):
    """A schema file that does not describe a usable contract."""


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "string"
    required: bool = False
    description: str = ""
    max_length: int | None = None
    pattern: str | None = None
    allowed: tuple[str, ...] | None = None
    not_in_future: bool = False
    not_before: str | None = None
    pii: bool = False


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
    def required_fields(self) -> list[str]:
        return [f.name for f in self.fields if f.required]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise SchemaError(f"schema {self.name!r} has no field {name!r}")


def _parse(data: dict, path: Path | None) -> Schema:
    where = path.name if path else "schema"
    try:
        fields = tuple(
            Field(**{**f, "allowed": tuple(f["allowed"]) if f.get("allowed") else None})
            for f in data["fields"]
        )
        schema = Schema(
            name=data["name"],
            version=str(data["version"]),
            title=data.get("title", data["name"]),
            description=data.get("description", ""),
            natural_key=tuple(data["natural_key"]),
            fields=fields,
            path=path,
        )
    except (KeyError, TypeError) as exc:
        raise SchemaError(f"{where}: malformed schema ({exc})") from exc
    names = schema.field_names
    problems = [f"unknown type {f.type!r} for {f.name}" for f in fields if f.type not in FIELD_TYPES]
    problems += [f"natural key {k!r} is not a field" for k in schema.natural_key if k not in names]
    problems += [f"{f.name}.not_before names unknown field {f.not_before!r}"
                 for f in fields if f.not_before and f.not_before not in names]
    if len(set(names)) != len(names):
        problems.append("duplicate field names")
    if not all(p.isdigit() for p in schema.version.split(".")) or schema.version.count(".") != 1:
        problems.append(f"version {schema.version!r} is not major.minor")
    if problems:
        raise SchemaError(f"{where}: " + "; ".join(problems))
    return schema


def load_schema_file(path: Path) -> Schema:
    return _parse(yaml.safe_load(Path(path).read_text(encoding="utf-8")), Path(path))


@cache
def get_schema(name: str) -> Schema:
    path = SCHEMA_DIR / f"{name}.yaml"
    if not path.exists():
        known = ", ".join(all_schema_names()) or "none"
        raise SchemaError(f"no schema named {name!r} (known: {known})")
    return load_schema_file(path)


def all_schema_names() -> list[str]:
    return sorted(p.stem for p in SCHEMA_DIR.glob("*.yaml"))


def all_schemas() -> list[Schema]:
    return [get_schema(n) for n in all_schema_names()]
