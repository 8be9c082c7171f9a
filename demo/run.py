"""``hub demo``: build the simulated province, serve its one-stop system, run every pipeline
and reconcile the levels, exactly as ``hub run --all`` and ``hub reconcile`` would.

The workspace (``$HUB_HOME/demo``) keeps what was generated: a second run with the same size
and seed finds the same files and registers nothing new (the watermarks say so). The one-stop
server listens on 127.0.0.1 behind client credentials; the REST sources find it through the
Airflow connection ``demo_onestop`` (``AIRFLOW_CONN_DEMO_ONESTOP``: address, client id and
secret), never through ``sources.yaml``. ``hub demo`` serves it for its own run, on a free port
with credentials made for the run; ``hub demo --serve`` keeps it up, at the address and with the
credentials its environment gives, for Airflow's workers, which get the same variable.
"""
from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from common.errors import HubError

from access.departments import load_departments
from access.policies import sync as sync_access
from demo import province
from demo.departments import write_departments
from demo.onestop_server import OneStopServer
from demo.telemedicine import TelemedicineServer
from pipeline.config import load_sources
from pipeline.run import RunResult, StageError, run_source
from kpi import Refresh, refresh as refresh_kpi
from sync.publish import publish
from sync.reconcile import Reconciliation, reconcile

CONNECTION_ENV = "AIRFLOW_CONN_DEMO_ONESTOP"
TELEMEDICINE_ENV = "AIRFLOW_CONN_DEMO_TELEMEDICINE"


class DemoError(HubError, ValueError):
    """The demo can't serve its systems as asked."""


def telemedicine_connection(onestop_uri: str) -> str:
    """The telemedicine platform's connection, derived from the one-stop's so that one variable set
    for the cluster serves both: the next port, the same secret as its API key."""
    from urllib.parse import urlsplit

    parts = urlsplit(onestop_uri)
    return f"http://:{parts.password}@127.0.0.1:{parts.port + 1}"


def connections(onestop_uri: str) -> dict[str, str]:
    """Every demo system's Airflow connection, as the workers must see them."""
    return {CONNECTION_ENV: onestop_uri, TELEMEDICINE_ENV: telemedicine_connection(onestop_uri)}


@dataclass
class DemoResult:
    workspace: Path
    manifest: dict
    runs: dict[str, RunResult] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    reconciliation: Reconciliation | None = None
    reconciliation_2025: Reconciliation | None = None
    kpi: Refresh | None = None
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


def onestop_server(folder: Path, *, client_id: str = "lienthong-hub", client_secret: str | None = None,
                   port: int = 0) -> OneStopServer:
    data = {name: json.loads((folder / "mot_cua" / f"{name}.json").read_text(encoding="utf-8"))
            for name in ("dossiers", "statistics")}
    return OneStopServer(data, client_id=client_id, client_secret=client_secret or secrets.token_urlsafe(24),
                         max_size=500, port=port)


def telemedicine_server(folder: Path, *, api_key: str | None = None, port: int = 0) -> TelemedicineServer:
    consultations = json.loads((folder / "y_te" / "consultations.json").read_text(encoding="utf-8"))
    return TelemedicineServer(consultations, api_key=api_key, port=port)


def run_demo(engine: Engine, *, size: str = "small", seed: int = 24, folder: Path | None = None,
             on_source: Callable[[str, RunResult | None, str | None], None] | None = None) -> DemoResult:
    folder = folder or workspace()
    folder.mkdir(parents=True, exist_ok=True)
    result = DemoResult(folder, prepare(folder, size, seed))
    with onestop_server(folder) as server, telemedicine_server(folder) as telemedicine:
        saved = {k: os.environ.get(k) for k in (CONNECTION_ENV, TELEMEDICINE_ENV)}
        os.environ[CONNECTION_ENV] = server.connection_uri
        os.environ[TELEMEDICINE_ENV] = telemedicine.connection_uri
        try:
            registry = province.write_registry(folder, result.manifest)
            result.departments = write_departments(folder, registry)
            sources = load_sources(registry)
            for source in sources.values():
                try:
                    result.runs[source.name] = run_source(source, engine)
                except StageError as exc:
                    result.failed[source.name] = str(exc)
                if on_source:
                    on_source(source.name, result.runs.get(source.name), result.failed.get(source.name))
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    sync_access(engine, load_departments(result.departments, sources))
    publish(engine)  # the catalogues' versions a level's copy is compared with
    result.reconciliation = reconcile(engine)
    result.reconciliation_2025 = reconcile(engine, check="indicators", as_of_geography="2025")
    result.kpi = refresh_kpi(engine)  # the operations centre's figures, as the kpi_refresh DAG would
    return result


def serve(*, size: str = "small", seed: int = 24, folder: Path | None = None,
          ready: Callable[[Path, str], None] | None = None) -> None:
    """Write the province's systems and registry, then serve the one-stop system until SIGTERM or
    Ctrl-C, at the address and with the credentials of ``AIRFLOW_CONN_DEMO_ONESTOP``."""
    import signal
    import threading
    from urllib.parse import unquote, urlsplit

    uri = os.environ.get(CONNECTION_ENV)
    if not uri:
        raise DemoError(f"set {CONNECTION_ENV}=http://CLIENT_ID:SECRET@127.0.0.1:PORT (the same for the Airflow "
                        "workers) for hub demo --serve; hub cluster up --demo sets it for you")
    parts = urlsplit(uri)
    if parts.hostname != "127.0.0.1" or not parts.port or not parts.username or not parts.password:
        raise DemoError(f"{CONNECTION_ENV} must be http://CLIENT_ID:SECRET@127.0.0.1:PORT (the demo serves on "
                        "127.0.0.1 only)")
    folder = folder or workspace()
    folder.mkdir(parents=True, exist_ok=True)
    manifest = prepare(folder, size, seed)
    registry = province.write_registry(folder, manifest)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        server = onestop_server(folder, client_id=unquote(parts.username), client_secret=unquote(parts.password),
                                port=parts.port).start()
    except OSError as exc:
        raise DemoError(f"cannot serve the one-stop system on 127.0.0.1:{parts.port}: {exc.strerror}") from None
    try:
        telemedicine = telemedicine_server(folder, api_key=unquote(parts.password), port=parts.port + 1).start()
    except OSError as exc:
        server.stop()
        raise DemoError(f"cannot serve the telemedicine platform on 127.0.0.1:{parts.port + 1}: "
                        f"{exc.strerror}") from None
    try:
        if ready:
            ready(registry, server.url)
        stop.wait()
    finally:
        telemedicine.stop()
        server.stop()


def quarantine_by_check(engine: Engine, sources: list[str]) -> dict[str, dict[str, int]]:
    """Quarantined rows per source and check, as the auditors' report counts them."""
    from report.quality_report import collect

    out: dict[str, dict[str, int]] = {}
    for r in collect(engine)["quarantine"]:
        if r["source"] in sources:
            out.setdefault(r["source"], {})[r["check"]] = r["rows"]
    return out
