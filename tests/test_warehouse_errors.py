"""A warehouse that is not there is one line naming where it was looked for; commands that only
read never create or migrate it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

HUB = Path(sys.executable).parent / "hub"


def _hub(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([HUB, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


def test_a_warehouse_url_that_does_not_answer_is_named_without_its_password():
    done = _hub("status", HUB_WAREHOUSE_URL="postgresql://loader:s3cretpw@127.0.0.1:9/lienthong")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: the warehouse at 127.0.0.1:9 (database 'lienthong') does not answer: connection failed: "
        'connection to server at "127.0.0.1", port 9 failed: Connection refused']
    assert "s3cretpw" not in done.stderr + done.stdout


def test_read_only_commands_do_not_migrate_an_empty_warehouse(template_url):
    url = make_url(template_url).set(database="empty_for_readers").render_as_string(hide_password=False)
    admin = create_engine(make_url(template_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS empty_for_readers"))
        conn.execute(text("CREATE DATABASE empty_for_readers"))
    admin.dispose()
    for command in (["status"], ["report"], ["lineage", "dossier", "X"]):
        done = _hub(*command, HUB_WAREHOUSE_URL=url)
        assert done.returncode == 1 and "Traceback" not in done.stderr, (command, done.stderr)
        line, = done.stderr.strip().splitlines()
        assert line.startswith("error: the warehouse at ") and line.endswith(
            "has no tables yet: run `hub warehouse upgrade` or `hub run` first")
    probe = create_engine(url)
    with probe.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pg_namespace WHERE nspname IN ('audit', 'core')")).scalar() == 0
    probe.dispose()
