"""A dossier export of N rows for the benchmark: realistic values, 1% defective, vectorised.

The demo generator (demo/dossiers.py) writes a few thousand rows row by row; a benchmark
needs millions, so this one builds whole columns with numpy and writes them with pandas.
Defects sit on even rows only; a duplicate copy takes a random odd row, before or after its
original and mostly in another chunk, so the hub must find it across batch boundaries.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from demo.dossiers import CHANNEL, HEADER, PROCEDURES, REFORM, STATUS, bac_giang_units

DEFECT_KINDS = ("missing_code", "impossible_date", "unknown_status", "completed_before_received", "duplicate")


def generate(path: Path, rows: int, seed: int = 7, defect_share: float = 0.01,
             changed_share: float = 0.0, base_seed: int | None = None) -> dict:
    """Write the file; with ``changed_share`` > 0, the file of ``base_seed`` with that share of rows changed."""
    rng = np.random.default_rng(base_seed if base_seed is not None else seed)
    legacy, new = bac_giang_units()
    start = np.datetime64("2024-01-02T07:30")
    received = start + rng.integers(0, 60 * 24 * 640, rows).astype("timedelta64[m]")
    after = received >= np.datetime64(REFORM)
    units = np.where(after, np.array([c for c, _ in new])[rng.integers(0, len(new), rows)],
                     np.array([c for c, _ in legacy])[rng.integers(0, len(legacy), rows)])
    names = dict(legacy) | dict(new)
    status_keys = np.array(list(STATUS))
    status = status_keys[rng.choice(len(status_keys), rows, p=np.array([8, 20, 4, 60, 4, 4]) / 100)]
    due = received + (rng.choice([3, 5, 7, 10, 15, 20], rows) * 24 * 60).astype("timedelta64[m]")
    done = status == "completed"
    completed = np.where(done, received + rng.integers(0, 25 * 24 * 60, rows).astype("timedelta64[m]"),
                         np.datetime64("NaT"))
    completed = np.minimum(completed, np.datetime64("2025-10-31T17:00"))
    completed = np.where(done, np.maximum(completed, received), np.datetime64("NaT"))
    fmt = "%d/%m/%Y %H:%M"
    frame = pd.DataFrame({
        HEADER[0]: [f"G24.{i:08d}" for i in range(rows)],
        HEADER[1]: np.array(PROCEDURES)[rng.integers(0, len(PROCEDURES), rows)],
        HEADER[2]: pd.Series(units).map(lambda c: f"Bộ phận một cửa {names[c]}"),
        HEADER[3]: units,
        HEADER[4]: pd.Series(received).dt.strftime(fmt),
        HEADER[5]: pd.Series(due).dt.strftime(fmt),
        HEADER[6]: pd.Series(completed).dt.strftime(fmt).fillna(""),
        HEADER[7]: pd.Series(status).map(STATUS),
        HEADER[8]: np.array(list(CHANNEL.values()))[rng.integers(0, 2, rows)],
    })
    if changed_share:
        change = np.random.default_rng(seed).random(rows) < changed_share
        frame.loc[change, HEADER[7]] = STATUS["completed"]
        frame.loc[change, HEADER[6]] = frame.loc[change, HEADER[5]]
    defects = {}
    planted = np.random.default_rng(base_seed if base_seed is not None else seed)
    victims = planted.permutation(np.flatnonzero(np.arange(rows) % 2 == 0))[: int(rows * defect_share)]
    odd_rows = planted.permutation(np.flatnonzero(np.arange(rows) % 2 == 1))  # copies go there, never a victim
    for kind, chunk in zip(DEFECT_KINDS, np.array_split(victims, len(DEFECT_KINDS))):
        defects[kind] = len(chunk)
        if kind == "missing_code":
            frame.loc[chunk, HEADER[0]] = ""
        elif kind == "impossible_date":
            frame.loc[chunk, HEADER[4]] = "31/02/2025 09:00"
        elif kind == "unknown_status":
            frame.loc[chunk, HEADER[7]] = "Đang chờ"
        elif kind == "completed_before_received":
            frame.loc[chunk, HEADER[6]] = "01/01/2024 07:00"
            frame.loc[chunk, HEADER[4]] = "05/01/2024 08:00"
            frame.loc[chunk, HEADER[5]] = "10/01/2024 08:00"
            frame.loc[chunk, HEADER[7]] = STATUS["completed"]
        elif kind == "duplicate":
            frame.loc[odd_rows[: len(chunk)]] = frame.loc[chunk].to_numpy()
    frame.to_csv(path, index=False, encoding="utf-8")
    return {"rows": rows, "bytes": path.stat().st_size, "defects": defects,
            "quarantined": int(sum(defects.values()))}
