"""A person's or an organisation's name, stored trimmed and in Unicode NFC: the same name typed
in NFD (as some Vietnamese keyboards do) is the same person."""
from __future__ import annotations

import unicodedata

import pandas as pd

from quality.formats import format_check


@format_check("name", check="normalized_text", rule="normalized_text", reason="{column} {problem}")
def normalized_text_problem(value: object) -> str | None:
    if value is None or pd.isna(value):
        return None
    v = str(value)
    if v != v.strip():
        return f"{v!r} has leading or trailing spaces"
    if not unicodedata.is_normalized("NFC", v):
        return f"{v!r} is not in Unicode NFC"
    return None
