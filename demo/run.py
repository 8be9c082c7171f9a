"""``hub demo``: build the simulated province, serve its one-stop system, run every pipeline
and reconcile the levels, exactly as ``hub run --all`` and ``hub reconcile`` would.

The workspace (``$HUB_HOME/demo``) keeps what was generated: a second run with the same size
and seed finds the same files and registers nothing new (the watermarks say so). The one-stop
server lives for the run only, on a free port of 127.0.0.1, behind client credentials made
for the run and handed to the pipeline through this process's environment, never written.
"""
from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from access.departments import load_departments
from access.policies import sync as sync_access
from demo import province
from demo.departments import write_departments
from demo.onestop_server import OneStopServer
from pipeline.config import load_sources
from pipeline.run import RunResult, StageError, run_source
from sync.publish import publish
from sync.reconcile import Reconciliation, reconcile

CLIENT_ID_ENV, SECRET_ENV = "DEMO_ONESTOP_CLIENT_ID", "DEMO_ONESTOP_CLIENT_SECRET"


@dataclass
class DemoResult:
    workspace: Path
    manifest: dict
    runs: dict[str, RunResult] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    reconciliation: Reconciliation | None = None
    reconciliation_2025: Reconciliation | None = None
    departments: Path | None = None


def workspace() -> Path:
    return Path(os.environ.get("HUB_HOME", ".hub")) / "demo"


def prepare(folder: Path, size: str, seed: int) -> dict:
    """The province's systems in ``folder``: made anew unless the same generator made them with
    the same size and seed (a large province takes a while to write)."""
    path = folder / "manifest.json"
    if path.is_file():
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if (manifest.get("size"), manifest.get("seed"), manifest.get("generator")) == \
                (size, seed, province.fingerprint()):
            return manifest
    return province.generate(folder, size, seed)


def onestop_server(folder: Path) -> OneStopServer:
    data = {name: json.loads((folder / "mot_cua" / f"{name}.json").read_text(encoding="utf-8"))
            for name in ("dossiers", "statistics")}
    return OneStopServer(data, client_secret=secrets.token_urlsafe(24), max_size=500)


def run_demo(engine: Engine, *, size: str = "small", seed: int = 24, folder: Path | None = None,
             on_source: Callable[[str, RunResult | None, str | None], None] | None = None) -> DemoResult:
    folder = folder or workspace()
    folder.mkdir(parents=True, exist_ok=True)
    result = DemoResult(folder, prepare(folder, size, seed))
    with onestop_server(folder) as server:
        saved = {k: os.environ.get(k) for k in (CLIENT_ID_ENV, SECRET_ENV)}
        os.environ[CLIENT_ID_ENV], os.environ[SECRET_ENV] = server.client_id, server.client_secret
        try:
            registry = province.write_registry(folder, result.manifest, server.url)
            result.departments = write_departments(folder, registry)
            for source in load_sources(registry).values():
                try:
                    result.runs[source.name] = run_source(source, engine)
                except StageError as exc:
                    result.failed[source.name] = str(exc)
                if on_source:
                    on_source(source.name, result.runs.get(source.name), result.failed.get(source.name))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    sync_access(engine, load_departments(result.departments, load_sources(registry)))
    publish(engine)  # the catalogues' versions a level's copy is compared with
    result.reconciliation = reconcile(engine)
    result.reconciliation_2025 = reconcile(engine, check="indicators", as_of_geography="2025")
    return result


def quarantine_by_check(engine: Engine, sources: list[str]) -> dict[str, dict[str, int]]:
    """Quarantined rows per source and check, as the auditors' report counts them."""
    from report.quality_report import collect

    out: dict[str, dict[str, int]] = {}
    for r in collect(engine)["quarantine"]:
        if r["source"] in sources:
            out.setdefault(r["source"], {})[r["check"]] = r["rows"]
    return out
