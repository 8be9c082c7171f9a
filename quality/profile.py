"""A batch's fields at a glance: how many values are missing and how many differ, per field.

Kept with the batch's audit row so the report can say which fields moved between runs (a
column that arrives empty, a code list that collapses to one value) without reading core.
"""
from __future__ import annotations

import pandas as pd


def distinct(column: pd.Series) -> int:
    """Non-null distinct values (pandas' hash count: Arrow's was no faster on the mapped strings,
    and much slower on Decimal objects)."""
    try:
        return int(column.nunique(dropna=True))
    except TypeError:  # unhashable values (a list): count their text
        return int(column.dropna().astype(str).nunique())


def profile(frame: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per column of the mapped frame: ``rows``, ``nulls`` and ``distinct`` (non-null values)."""
    rows, nulls = len(frame), frame.isna().sum()
    return {str(c): {"rows": rows, "nulls": int(nulls[c]), "distinct": distinct(frame[c])} for c in frame.columns}
