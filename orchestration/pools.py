"""Airflow pools, one per department system, so a backfill can't flood a department's server.

A source names its system's pool and the pool's size (``pool``, ``pool_slots`` in sources.yaml);
every load task of that system takes one slot. Sources of one system share its pool, so they must
agree on its size. The result is the file ``airflow pools import`` reads.
"""
from __future__ import annotations

import json
from collections.abc import Iterable

from pipeline.config import ConfigError, SourceConfig, load_sources


def pools(sources: Iterable[SourceConfig]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for s in sources:
        if not s.pool:
            continue
        if s.pool_slots < 1:
            raise ConfigError(f"source {s.name!r}: pool_slots must be at least 1, not {s.pool_slots}")
        pool = found.setdefault(s.pool, {"slots": s.pool_slots, "include_deferred": False, "sources": []})
        if pool["slots"] != s.pool_slots:
            raise ConfigError(f"pool {s.pool!r}: source {s.name!r} says {s.pool_slots} slots, "
                              f"{pool['sources'][0]!r} says {pool['slots']}")
        pool["sources"].append(s.name)
    return {name: {"slots": p["slots"], "include_deferred": False,
                   "description": f"department system of {', '.join(p['sources'])} (sources.yaml)"}
            for name, p in sorted(found.items())}


def pools_json(sources: Iterable[SourceConfig] | None = None) -> str:
    return json.dumps(pools(load_sources().values() if sources is None else sources), indent=2,
                      ensure_ascii=False) + "\n"
