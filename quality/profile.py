"""A batch's fields at a glance: how many values are missing and how many differ, per field.

Kept with the batch's audit row so the report can say which fields moved between runs (a
column that arrives empty, a code list that collapses to one value) without reading core.
"""
from __future__ import annotations

import pandas as pd


def profile(frame: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per column of the mapped frame: ``rows``, ``nulls`` and ``distinct`` (non-null values)."""
    rows = len(frame)
    nulls = frame.isna().sum()
    out = {}
    for column in frame.columns:
        try:
            distinct = int(frame[column].nunique(dropna=True))
        except TypeError:  # unhashable values (a list): count their text
            distinct = int(frame[column].astype(str).nunique(dropna=True))
        out[str(column)] = {"rows": rows, "nulls": int(nulls[column]), "distinct": distinct}
    return out
