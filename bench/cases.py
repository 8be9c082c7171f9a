"""One benchmark case per process, so each one's peak memory is its own.

    BENCH_WAREHOUSE_URL=URL python -m bench.cases CASE --file FILE [--chunk-size N]

The warehouse URL (with its password) comes from the environment, not the command line, where
every user of the machine could read it in the process list.

prints one JSON line: seconds (the work only, not interpreter start or imports), peak RSS,
and for the hub's cases the run's counts and per-stage seconds.
"""
from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

COLUMNS = ["dossier_code", "procedure_code", "receiving_agency", "admin_unit_code", "received_at", "due_at",
           "completed_at", "status", "channel"]


def hub_case(url: str, path: str, chunk_size: int, full_refresh: bool) -> dict:
    from pipeline.config import REPO_ROOT, load_sources
    from pipeline.run import prepare_warehouse, run_source
    from warehouse.connect import get_engine

    engine = get_engine(url)
    prepare_warehouse(engine)
    source = load_sources(REPO_ROOT / "sources.yaml")["bacgiang_dossiers_export"]
    source = dataclasses.replace(source, name="bench_dossiers",
                                 options={**source.options, "path": path, "chunk_size": chunk_size})
    import quality.validate  # noqa: F401  (imports are not the work being measured)

    start = time.perf_counter()
    result = run_source(source, engine, full_refresh=full_refresh)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "counts": result.totals, "stage_seconds": result.seconds,
            "batches": len(result.batches), "statuses": sorted({b.status for b in result.batches}),
            "warehouse": warehouse_counts(engine, result.run_id)}


def warehouse_counts(engine, run_id: str) -> dict:
    """What the run left in the warehouse: its audit rows' sums, and the quarantine rows of its batches."""
    from sqlalchemy import func, select

    from schemas import get_schema
    from warehouse.tables import batch, schema_tables

    _, _, quarantine = schema_tables(get_schema("dossier"))
    sums = [func.coalesce(func.sum(batch.c[f"rows_{k}"]), 0) for k in ("read", "inserted", "updated", "unchanged",
                                                                        "quarantined")]
    ids = select(batch.c.batch_id).where(batch.c.run_id == run_id)
    with engine.connect() as conn:
        audit = conn.execute(select(*sums).where(batch.c.run_id == run_id)).one()
        kept = conn.execute(select(func.count()).select_from(quarantine)
                            .where(quarantine.c.last_batch_id.in_(ids))).scalar_one()
    return {"audit": dict(zip(("read", "inserted", "updated", "unchanged", "quarantined"), map(int, audit))),
            "quarantine_rows": kept}


def small_source(path: str, name: str = "bench_small"):
    from pipeline.config import REPO_ROOT, load_sources

    source = load_sources(REPO_ROOT / "sources.yaml")["bacgiang_dossiers_export"]
    return dataclasses.replace(source, name=name, options={**source.options, "path": path})


def forget_loads(engine) -> None:
    """Empty what a load of the dossier schema left, so the next one is a first load again."""
    with engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE core.dossier, quarantine.dossier, audit.watermark, staging.record_digest")


def small_forked_case(url: str, path: str, repeat: int) -> dict:
    """G: a small source loaded as an Airflow worker runs a task: the worker has imported and
    warmed what every task needs (``orchestration.worker.preload``), then forks; the child takes
    the warehouse as a task does (``orchestration.run.warehouse``) and runs the source. Timed from
    the fork to the child's exit, each time a first load (the tables emptied between times)."""
    from orchestration.run import warehouse
    from orchestration.worker import preload

    engine = warehouse(url)  # the warehouse exists before any task runs
    preload(engine)
    source = small_source(path)
    times, counts = [], None
    for _ in range(repeat):
        forget_loads(engine)
        engine.dispose()  # a forked child must not share the parent's connections
        read, write = os.pipe()
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # the task
            os.close(read)
            code = 0
            try:
                from pipeline.run import run_source

                result = run_source(source, warehouse(url), full_refresh=True)
                os.write(write, json.dumps(result.totals).encode())
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(write)
        _, status = os.waitpid(pid, 0)
        times.append(time.perf_counter() - start)
        with os.fdopen(read, "rb") as fh:
            out = fh.read()
        if status != 0:
            raise RuntimeError("the forked task failed")
        counts = json.loads(out)
    return {"seconds": statistics.median(times), "runs": times, "counts": counts}


def small_cold_case(url: str, path: str) -> dict:
    """G cold: the same task in this fresh interpreter, imports included (the driver times the
    whole process from outside, start-up included)."""
    from orchestration.run import warehouse
    from pipeline.run import run_source

    engine = warehouse(url)
    forget_loads(engine)
    result = run_source(small_source(path), engine, full_refresh=True)
    return {"counts": result.totals}


def demo_case(url: str, size: str, folder: str) -> dict:
    """H: ``hub demo`` (every source of the simulated province, then publish and reconcile), timed
    after the province's files are written, and what it left compared with the manifest: each
    source's loads, the quarantine per check and the reconciliation's findings."""
    from sqlalchemy import text

    from demo.run import prepare, quarantine_by_check, run_demo
    from pipeline.run import prepare_warehouse
    from warehouse.connect import get_engine

    engine = get_engine(url)
    clock = time.perf_counter()
    prepare_warehouse(engine)
    manifest = prepare(Path(folder), size, 24)
    made = time.perf_counter() - clock
    start = time.perf_counter()
    result = run_demo(engine, size=size, folder=Path(folder))
    seconds = time.perf_counter() - start
    planted = manifest["sources"]
    with engine.connect() as conn:
        loads = {r.source: (r.read, r.inserted, r.updated, r.quarantined) for r in conn.execute(text(
            "SELECT source, sum(rows_read) AS read, sum(rows_inserted) AS inserted, sum(rows_updated) AS updated, "
            "sum(rows_quarantined) AS quarantined FROM audit.batch GROUP BY source"))}
        findings = conn.execute(text("SELECT count(*) FROM audit.reconciliation WHERE status = 'open'")).scalar()
    expected = {name: (s["read"], s["read"] - sum(s["quarantined"].values()), 0, sum(s["quarantined"].values()))
                for name, s in planted.items()}
    quarantined = {name: s["quarantined"] for name, s in planted.items() if s["quarantined"]}
    return {"seconds": seconds, "prepare_seconds": made, "sources": len(result.runs), "failed": result.failed,
            "rows": sum(s["read"] for s in planted.values()),
            "loads_equal": loads == expected, "quarantine_equal": quarantine_by_check(engine, list(planted)) == quarantined,
            "findings": findings, "findings_equal": findings == len(manifest["findings"]) + len(manifest["findings_2025"])}


def copy_case(url: str, path: str) -> dict:
    import psycopg
    from sqlalchemy.engine import make_url

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute("CREATE TABLE bench_copy (" + ", ".join(f"{c} text" for c in COLUMNS) + ")")
        start = time.perf_counter()
        with conn.cursor() as cur, open(path, "rb") as fh:
            with cur.copy("COPY bench_copy FROM STDIN (FORMAT csv, HEADER true)") as copy:
                while block := fh.read(1 << 20):
                    copy.write(block)
        seconds = time.perf_counter() - start
        rows = conn.execute("SELECT count(*) FROM bench_copy").fetchone()[0]
    return {"seconds": seconds, "rows": rows}


def pandas_case(url: str, path: str) -> dict:
    import pandas as pd
    from sqlalchemy import create_engine

    engine = create_engine(url)
    start = time.perf_counter()
    frame = pd.read_csv(path)
    frame.to_sql("bench_pandas", engine, index=False, if_exists="replace")
    return {"seconds": time.perf_counter() - start, "rows": len(frame)}


def dlt_case(url: str, path: str) -> dict:
    try:
        import dlt
    except ImportError as exc:
        return {"skipped": f"dlt is not installed beside the hub ({exc}); install the 'bench' extra"}
    import pandas as pd
    from urllib.parse import quote

    from sqlalchemy.engine import make_url

    parsed = make_url(url)

    @dlt.resource(name="dossier", write_disposition="merge", primary_key="ma_ho_so")
    def dossiers():
        for chunk in pd.read_csv(path, chunksize=100_000, dtype=str, keep_default_na=False):
            chunk.columns = ["ma_ho_so"] + [f"c{i}" for i in range(1, len(chunk.columns))]
            yield chunk.drop_duplicates("ma_ho_so").to_dict("records")

    # the embedded server listens on a Unix socket only: dlt wants a host name, libpq lets the
    # query's host (the socket's folder) override it
    credentials = (f"postgresql://{parsed.username or 'postgres'}:{quote(parsed.password or '', safe='')}"
                   f"@localhost:5432/{parsed.database}?host={parsed.query['host']}")
    pipeline = dlt.pipeline(pipeline_name="bench_dlt", destination=dlt.destinations.postgres(credentials=credentials),
                            dataset_name="bench_dlt", progress="log")
    start = time.perf_counter()
    info = pipeline.run(dossiers())
    return {"seconds": time.perf_counter() - start, "loads": len(info.loads_ids)}


def peak_rss_mb() -> float:
    """This process's own peak resident memory. Not ``getrusage``'s ru_maxrss: Linux carries the
    parent's peak across fork and exec, so every case would report at least the driver's
    (which holds the generated file's frame), and A at 5N would measure the generator."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=["hub", "hub_rerun", "copy", "pandas", "dlt", "small_forked", "small_cold", "demo"])
    parser.add_argument("--url", default=os.environ.get("BENCH_WAREHOUSE_URL"),
                        help="the warehouse (default: $BENCH_WAREHOUSE_URL)")
    parser.add_argument("--file", required=True)
    parser.add_argument("--chunk-size", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", default="large")
    parser.add_argument("--folder")
    args = parser.parse_args()
    if not args.url:
        parser.error("no warehouse: set BENCH_WAREHOUSE_URL or give --url")
    if args.case == "hub":
        out = hub_case(args.url, args.file, args.chunk_size, full_refresh=True)
    elif args.case == "hub_rerun":
        out = hub_case(args.url, args.file, args.chunk_size, full_refresh=False)
    elif args.case == "copy":
        out = copy_case(args.url, args.file)
    elif args.case == "small_forked":
        out = small_forked_case(args.url, args.file, args.repeat)
    elif args.case == "small_cold":
        out = small_cold_case(args.url, args.file)
    elif args.case == "demo":
        out = demo_case(args.url, args.size, args.folder)
    elif args.case == "pandas":
        out = pandas_case(args.url, args.file)
    else:
        out = dlt_case(args.url, args.file)
    out["peak_rss_mb"] = peak_rss_mb()
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
