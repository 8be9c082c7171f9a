"""Departments' access: what row-level security costs, and how fast the API pages.

    python -m bench.access [--dossiers 1000000] [--repeat 5] [--limit 5000]

On one embedded PostgreSQL: ``--dossiers`` rows in ``core.dossier`` spread over Bắc Giang's
communes on both sides of the reform, a tenth of them inside the scope of Phường Bắc Giang
(2025 commune 07210: its own rows after 2025-07-01, its legacy predecessors' before).

- RLS: ``SELECT count(*) FROM core.dossier`` as that commune's SQL user (through the policy)
  against the same query as ``lienthong_loader`` (BYPASSRLS), each the median of ``--repeat``;
  target: the ratio at most 2.
- API: the commune's token pages through its dossiers with ``hub serve`` on 127.0.0.1 (a real
  process), ``--limit`` rows a page; rows/s over the whole walk.

Prints the figures as JSON and as a short table; no test asserts a time.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

COMMUNE = "07210"


def _units() -> tuple[list[str], list[str], list[str]]:
    """(legacy predecessors of the commune, other legacy communes, other 2025 communes)."""
    from demo.geography import bac_giang

    geo = bac_giang()
    scope = sorted(c for c, new in geo.successor.items() if new == COMMUNE)
    return scope, sorted(set(geo.legacy_communes) - set(scope)), sorted(set(geo.communes_2025) - {COMMUNE})


def fill(engine, n: int) -> int:
    """n dossiers, set-based; returns how many the commune's policy should let it see."""
    scope, legacy, new = _units()
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO core.dossier (dossier_code, procedure_code, receiving_agency, admin_unit_code, received_at,
                status, channel, source, batch_id, source_position, row_hash, schema_version)
            SELECT 'B' || lpad(i::text, 9, '0'), '1.004227', 'Bộ phận một cửa',
                   CASE WHEN i % 10 = 0 THEN CASE WHEN i % 20 = 0 THEN :commune
                                                  ELSE u.scope[1 + (i / 20) % cardinality(u.scope)] END
                        WHEN i % 2 = 0 THEN u.new[1 + i % cardinality(u.new)]
                        ELSE u.legacy[1 + i % cardinality(u.legacy)] END,
                   CASE WHEN (i % 10 = 0 AND i % 20 <> 0) OR (i % 10 <> 0 AND i % 2 = 1)
                        THEN TIMESTAMPTZ '2025-03-01 09:00+07' + (i % 100) * interval '1 day'
                        ELSE TIMESTAMPTZ '2025-07-01 09:00+07' + (i % 150) * interval '1 day' END,
                   'completed', 'online', 'bench_onestop', 0, i::text, md5(i::text), '1.0'
            FROM generate_series(1, :n) AS i, (SELECT CAST(:scope AS text[]) AS scope, CAST(:new AS text[]) AS new,
                                                   CAST(:legacy AS text[]) AS legacy) AS u"""), {"n": n, "commune": COMMUNE, "scope": scope, "legacy": legacy,
                                                   "new": new})
        conn.execute(text("ANALYZE core.dossier"))
    return n // 10


def _timed_count(engine, repeat: int) -> tuple[float, int]:
    times, count = [], 0
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM core.dossier")).scalar()  # warm the cache
        for _ in range(repeat):
            start = time.perf_counter()
            count = conn.execute(text("SELECT count(*) FROM core.dossier")).scalar()
            times.append(time.perf_counter() - start)
    return statistics.median(times), count


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def api_server(url: str, home: Path):
    import requests

    port = _free_port()
    env = {**os.environ, "HUB_WAREHOUSE_URL": url, "HUB_HOME": str(home)}
    proc = subprocess.Popen([str(Path(sys.executable).with_name("hub")), "serve", "--port", str(port),  # noqa: S603 - our own interpreter and components, arguments we built; no shell
                             "--per-minute", "100000"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{base}/openapi.json", timeout=2).ok:
                    break
            if proc.poll() is not None:
                raise RuntimeError(f"hub serve stopped: {proc.stderr.read().decode()[-500:]}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def bench(dossiers: int, repeat: int, limit: int, work: Path) -> dict:
    import requests

    from access.departments import Department, Registry, Unit
    from access.policies import sync
    from access.requests import approve, request
    from access.roles import LOADER, fixed_password, grant_user, role_url
    from refdata.sync import sync as refdata_sync
    from warehouse.connect import embedded_url
    from warehouse.migrate import upgrade

    os.environ["HUB_HOME"] = str(work / "home")
    url = embedded_url(work / "warehouse")
    owner = create_engine(url)
    upgrade(owner)
    refdata_sync(owner, ["24"])
    start = time.perf_counter()
    expected = fill(owner, dossiers)
    fill_seconds = time.perf_counter() - start
    department = Department("bench_xa_07210", "Phường Bắc Giang", "commune", (Unit(COMMUNE, "2025"),))
    sync(owner, Registry({department.code: department}))
    with owner.begin() as conn:
        password = grant_user(conn, department.role, "bench_commune_user")
    loader = create_engine(role_url(owner, LOADER, fixed_password(LOADER)))
    commune = create_engine(role_url(owner, "bench_commune_user", password))
    loader_s, loader_rows = _timed_count(loader, repeat)
    commune_s, commune_rows = _timed_count(commune, repeat)
    request_id, _ = request(owner, department.code, "dossier", "benchmark")
    token, _ = approve(owner, request_id)
    pages, rows, cursor = 0, 0, None
    with api_server(url, work / "home") as base, requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {token}"
        start = time.perf_counter()
        while True:
            r = http.get(f"{base}/api/v1/datasets/dossier/records", params={"limit": limit, "cursor": cursor})
            r.raise_for_status()
            body = r.json()
            pages, rows, cursor = pages + 1, rows + len(body["records"]), body["next_cursor"]
            if not cursor:
                break
        api_seconds = time.perf_counter() - start
    for e in (loader, commune, owner):
        e.dispose()
    return {"dossiers": dossiers, "fill_seconds": round(fill_seconds, 2),
            "rls": {"loader_seconds": loader_s, "loader_rows": loader_rows, "department_seconds": commune_s,
                    "department_rows": commune_rows, "expected_department_rows": expected,
                    "ratio": commune_s / loader_s, "target": 2.0},
            "api": {"rows": rows, "pages": pages, "limit": limit, "seconds": api_seconds,
                    "rows_per_second": rows / api_seconds}}


def table(result: dict) -> str:
    rls, api = result["rls"], result["api"]
    return "\n".join([
        f"core.dossier: {result['dossiers']:,} rows; the commune's policy lets it see {rls['department_rows']:,}",
        f"count(*) as lienthong_loader (no RLS)   {rls['loader_seconds'] * 1000:9.1f} ms",
        f"count(*) as the commune (RLS)           {rls['department_seconds'] * 1000:9.1f} ms   "
        f"ratio {rls['ratio']:.2f} (target <= {rls['target']:.0f})",
        f"API: {api['rows']:,} rows in {api['pages']} pages of {api['limit']}: {api['seconds']:.2f} s, "
        f"{api['rows_per_second']:,.0f} rows/s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--limit", type=int, default=5000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lienthong-bench-access-"))
    result = bench(args.dossiers, args.repeat, args.limit, work)
    print(json.dumps(result, indent=1))
    print(table(result))


if __name__ == "__main__":
    main()
