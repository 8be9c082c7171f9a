"""A department's value as the text a CSV export would hold, whichever system it came from.

Every adapter hands the mapping strings, so a date, a number or a flag is parsed by one set of
rules (``schemas/mapping.py``) whether it arrived as an xlsx cell, a JSON value or a database
column. One function, so the three readers can't drift apart.
"""
from __future__ import annotations

import json
import math
import unicodedata
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def as_text(value: Any, *, datetime_format: str = DATETIME_FORMAT, tz: tzinfo | None = None) -> str | None:
    """``value`` as text; None stays None (missing, not the word "None").

    Text is NFC (a name typed in NFD is the same name). A timestamp with a zone is written in
    ``tz``, the source's zone, since the mapping reads local time there. A whole float is
    written without ``.0``: a spreadsheet stores every number as a float, and a code or a count
    typed as 5 must read "5". A nested JSON value stays JSON, never Python's repr.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value if value.isascii() else unicodedata.normalize("NFC", value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is not None and tz is not None:
            value = value.astimezone(tz).replace(tzinfo=None)
        return value.strftime(datetime_format)
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value.total_seconds())
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
