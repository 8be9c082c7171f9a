"""The sources registry (``sources.yaml``), read and checked before anything runs.

Config reaches the stages as plain values; only the edges (CLI, Airflow tasks) read files and
environment. Secrets never live here: a source names the environment variable or Airflow
connection that holds one.
"""
from __future__ import annotations

from common.errors import HubError
from common.vietnam import TIMEZONE

import difflib
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
    timezone: str = TIMEZONE
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


class _Mapping(dict):
    """A YAML mapping that remembers where it and each of its keys were written."""
    line: int = 0
    lines: dict[Any, int]


class _Loader(yaml.SafeLoader):
    """yaml's safe loader, keeping line numbers so that a fault in sources.yaml names its line."""

    def construct_mapping(self, node, deep=False):
        mapping = _Mapping(super().construct_mapping(node, deep=deep))
        mapping.line = node.start_mark.line + 1
        mapping.lines = {self.construct_object(k): k.start_mark.line + 1 for k, _ in node.value}
        return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Loader.construct_mapping)


def _read(path: Path) -> dict:
    """The registry's YAML, or one line naming the file and the line where it stops making sense."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}  # noqa: S506 - _Loader is yaml.SafeLoader keeping line numbers
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path.name}, line {mark.line + 1}, column {mark.column + 1}" if mark else path.name
        raise ConfigError(f"{where}: not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: not valid YAML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path.name}: not UTF-8 text (byte 0x{exc.object[exc.start]:02X} "
                          f"at offset {exc.start})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name}: expected a mapping with a 'sources' list, not {type(data).__name__}")
    return data


def _line(mapping: Any, key: Any = None) -> int | None:
    lines = getattr(mapping, "lines", {})
    return lines.get(key) or getattr(mapping, "line", None)


def _options(given: Any, adapter: str, name: str, where: str, line: int | None) -> dict[str, Any]:
    """A source's ``options:`` (written at ``line``) checked against its adapter's declared options."""
    from adapter_options import OptionError, options_class

    kind = options_class(adapter)
    if kind is None:  # declared in the adapter's own module, or no such adapter
        from adapters import SourceError, get_adapter_class

        try:
            kind = get_adapter_class(adapter).options_class
        except SourceError as exc:
            raise ConfigError(f"{where}: source {name!r}: {exc}") from None
    try:
        kind.parse(given)
    except OptionError as exc:
        mapping = given
        for key in exc.path:  # down to the option at fault, for its line
            line = _line(mapping, key) or line
            mapping = mapping.get(key) if isinstance(mapping, dict) else None
        at = f"{where.partition(', line')[0]}, line {line}" if line else where
        raise ConfigError(f"{at}: source {name!r}: {exc}") from None
    return dict(given or {})


def load_sources(path: Path | None = None) -> dict[str, SourceConfig]:
    """Every source in the registry, each checked whole: its keys, its adapter's options, its name.

    A fault is one line naming the file, the line and the source, never a traceback."""
    path = Path(path or sources_path())
    if not path.is_file():
        raise ConfigError(f"sources file not found: {path}")
    data = _read(path)
    defaults = data.get("defaults", {}) or {}
    listed = data.get("sources", []) or []
    if not isinstance(defaults, dict) or not isinstance(listed, list):
        bad = "defaults" if not isinstance(defaults, dict) else "sources"
        raise ConfigError(f"{path.name}, line {_line(data, bad)}: {bad!r} must be a "
                          f"{'mapping' if bad == 'defaults' else 'list of sources'}")
    sources: dict[str, SourceConfig] = {}
    for number, given in enumerate(listed, 1):
        where = f"{path.name}, line {_line(given) or _line(data, 'sources')}"
        if not isinstance(given, dict):
            raise ConfigError(f"{where}: source {number} is not a mapping of key: value ({given!r:.60})")
        entry = {**defaults, **given}
        name = entry.get("name", "")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ConfigError(f"{where}: source name {name!r} must be 2 to 63 lowercase letters, digits or _, "
                              "starting with a letter (it is the Airflow DAG id)")
        if name in sources:
            raise ConfigError(f"{where}: source {name!r} is declared twice")
        missing = [k for k in ("adapter", "schema") if not entry.get(k)]
        if missing:
            raise ConfigError(f"{where}: source {name!r} lacks {', '.join(missing)}")
        known = set(SourceConfig.__dataclass_fields__)
        unknown = set(entry) - known
        if unknown:
            first = min(unknown, key=str)
            close = difflib.get_close_matches(str(first), known, n=1)
            raise ConfigError(f"{path.name}, line {_line(given, first)}: source {name!r} has unknown keys: "
                              f"{', '.join(sorted(map(str, unknown)))}"
                              + (f" (did you mean {close[0]!r}?)" if close else ""))
        options = _options(entry.get("options"), entry["adapter"], name, where, _line(given, "options"))
        if "path" in options:  # relative paths are relative to the registry, not the cwd
            options["path"] = str((path.parent / options["path"]).resolve())
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


def known_sources() -> dict[str, SourceConfig]:
    """The registry's sources, and the demo workspace's (``$HUB_HOME/demo/sources.yaml``) for those it
    lacks: the report and the quarantine read records of any source that ever loaded. Empty if neither
    file exists."""
    found: dict[str, SourceConfig] = {}
    demo = Path(os.environ.get("HUB_HOME", ".hub")) / "demo" / "sources.yaml"
    for path in (demo, sources_path()):
        if path.is_file():
            found.update(load_sources(path))
    return found
