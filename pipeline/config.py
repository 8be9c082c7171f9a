"""The sources registry (``sources.yaml``), read and checked before anything runs.

Config reaches the stages as plain values; only the edges (CLI, Airflow tasks) read files and
environment. Secrets never live here: a source names the environment variable or Airflow
connection that holds one.
"""
from __future__ import annotations

from common.errors import HubError

import os
import re
import unicodedata
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
DEFAULT_DATE_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y",
                        "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


LOCALES = (None, "vi")


class ConfigError(HubError, ValueError):
    """sources.yaml names something that does not exist or is malformed."""


@dataclass(frozen=True)
class SourceConfig:
    name: str
    adapter: str
    schema: str
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    """Department column name -> schema field name; empty means the columns already match."""
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per schema field, department value -> the schema's code (e.g. 'Trực tuyến' -> online)."""
    date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS
    timezone: str = "Asia/Ho_Chi_Minh"
    locale: str | None = None
    """How the source writes numbers: none (plain, '1234.5': machine formats) or ``vi`` ('1.234,5')."""
    may_update: tuple[str, ...] = ()
    """Sources whose keys this one may change; a key belongs to the source that first loaded it."""
    max_failure_ratio: float = 0.5
    """Above this share of failing rows a batch is held whole as a broken source."""
    schedule: str | None = "@daily"
    owner: str = "data-engineering"
    department: str = ""
    tags: tuple[str, ...] = ()
    pool: str | None = None
    pool_slots: int = 2


def sources_path() -> Path:
    return Path(os.environ.get("HUB_SOURCES", REPO_ROOT / "sources.yaml"))


def load_sources(path: Path | None = None) -> dict[str, SourceConfig]:
    path = Path(path or sources_path())
    if not path.is_file():
        raise ConfigError(f"sources file not found: {path}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    defaults = data.get("defaults", {}) or {}
    sources: dict[str, SourceConfig] = {}
    for entry in data.get("sources", []) or []:
        entry = {**defaults, **entry}
        name = entry.get("name", "")
        if not NAME_RE.match(name):
            raise ConfigError(f"{path.name}: source name {name!r} must match {NAME_RE.pattern}")
        if name in sources:
            raise ConfigError(f"{path.name}: source {name!r} is declared twice")
        missing = [k for k in ("adapter", "schema") if not entry.get(k)]
        if missing:
            raise ConfigError(f"{path.name}: source {name!r} lacks {', '.join(missing)}")
        options = dict(entry.get("options") or {})
        if "path" in options:  # relative paths are relative to the registry, not the cwd
            options["path"] = str((path.parent / options["path"]).resolve())
        known = set(SourceConfig.__dataclass_fields__)
        unknown = set(entry) - known
        if unknown:
            raise ConfigError(f"{path.name}: source {name!r} has unknown keys: {', '.join(sorted(unknown))}")
        nfc = partial(unicodedata.normalize, "NFC")  # a registry typed on a Mac may hold NFD
        entry.update(options=options, tags=tuple(entry.get("tags", ())),
                     fields={nfc(str(k)): v for k, v in (entry.get("fields") or {}).items()},
                     values={f: {nfc(str(k)): v for k, v in m.items()} for f, m in (entry.get("values") or {}).items()},
                     date_formats=tuple(entry.get("date_formats", DEFAULT_DATE_FORMATS)),
                     may_update=tuple(entry.get("may_update") or ()))
        if entry.get("locale") not in LOCALES:
            raise ConfigError(f"{path.name}: source {name!r} has locale {entry['locale']!r} "
                              f"(known: vi, or none for plain numbers)")
        sources[name] = SourceConfig(**entry)
    return sources


def get_source(name: str, path: Path | None = None) -> SourceConfig:
    sources = load_sources(path)
    if name not in sources:
        raise ConfigError(f"no source named {name!r} in {path or sources_path()} "
                          f"(known: {', '.join(sources) or 'none'})")
    return sources[name]
