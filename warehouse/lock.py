"""One run per source at a time, held in the warehouse itself.

A source's runs share its watermark: two at once would both read from it and both write it.
The lock is a PostgreSQL advisory lock on a connection of its own, so it covers every way a run
starts (a terminal, an Airflow task, a backfill, a test) on every machine that shares the
warehouse, and it goes with the connection when its process dies: no stale lock file to clear.
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, func, select, text

from common.errors import HubError
from warehouse.connect import WarehouseUnavailable

NAMESPACE = "lienthong.source."


class SourceBusy(HubError):
    """Another run of the same source holds its lock."""


def _key(source: str) -> int:
    """A stable 62-bit key: the lock's two halves are visible in ``pg_locks`` (classid, objid)."""
    return int.from_bytes(hashlib.sha256((NAMESPACE + source).encode()).digest()[:8], "big") >> 2


def holder(engine: Engine, source: str) -> str:
    """Who holds the source's lock, as a person can look it up: the run and its process."""
    key = _key(source)
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT a.application_name, a.pid, a.backend_start, a.client_addr FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.classid = CAST(:hi AS oid) AND l.objid = CAST(:lo AS oid) AND l.objsubid = 1"),
            {"hi": key >> 32, "lo": key & 0xFFFFFFFF}).first()
    if row is None:
        return "another run (it has just finished)"
    name = row.application_name or "another run"
    return f"{name} (server pid {row.pid}, since {row.backend_start:%Y-%m-%d %H:%M:%S})"


@contextmanager
def one_run_per_source(engine: Engine, source: str, run_id: str, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the source's lock for the run; wait up to ``wait`` seconds for it, else
    :class:`SourceBusy` naming the run that holds it. Different sources never wait for each other."""
    key = _key(source)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(select(func.set_config("application_name", f"lienthong run {run_id[:8]} of {source}"[:63], False)))
        deadline = time.monotonic() + max(wait, 0.0)
        while not conn.execute(select(func.pg_try_advisory_lock(key))).scalar():
            if time.monotonic() >= deadline:
                raise SourceBusy(f"source {source!r} is being loaded by {holder(engine, source)}; "
                                 f"run it again when that run ends, or pass --wait SECONDS to wait for it")
            time.sleep(min(0.5, max(deadline - time.monotonic(), 0.01)))
        try:
            yield
        finally:
            try:
                conn.execute(select(func.pg_advisory_unlock(key)))
            except WarehouseUnavailable:  # the lock went with the server: the run's own error says so
                pass
