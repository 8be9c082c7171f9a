"""Personal data (citizen IDs) never reaches the warehouse raw unless a schema says so.

A protected field is stored as an HMAC-SHA256 under a key from the environment
(``HUB_PII_KEY``), so the same person is found across sources and months without the
number, plus a masked form a person can read on a report ("001*******45"). For the embedded
demo warehouse with no key set, a random key is made once in ``$HUB_HOME/pii.key`` (mode 600);
a real deployment sets the variable from its secrets store.
"""
from __future__ import annotations

from common.errors import HubError

import hashlib
import hmac
import os
import re
import secrets
from functools import cache
from pathlib import Path

import pandas as pd

from schemas import Schema


class PiiKeyError(HubError, RuntimeError):
    """No key to protect personal data with."""


@cache
def _key(env_value: str | None, home: str) -> bytes:
    if env_value:
        return env_value.encode()
    path = Path(home) / "pii.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def key() -> bytes:
    return _key(os.environ.get("HUB_PII_KEY"), os.environ.get("HUB_HOME", ".hub"))


def keyed_hash(values: pd.Series) -> pd.Series:
    k = key()
    return values.map(lambda v: None if v is None or pd.isna(v)
                      else hmac.new(k, str(v).encode(), hashlib.sha256).hexdigest())


def masked(values: pd.Series) -> pd.Series:
    def mask(v):
        if v is None or pd.isna(v):
            return None
        v = str(v)
        return v[:3] + "*" * max(len(v) - 5, 0) + v[-2:] if len(v) > 5 else "*" * len(v)
    return values.map(mask)


def protect(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """The frame as stored: each protected field replaced by its hash and mask (and raw if kept)."""
    out = frame.copy()
    for f in schema.protected:
        out[f"{f.name}_hash"] = keyed_hash(frame[f.name])
        out[f"{f.name}_masked"] = masked(frame[f.name])
        if f.keep_raw:
            out[f"{f.name}_raw"] = frame[f.name]
        del out[f.name]
    return out


def protect_raw(raw: dict, columns: dict[str, str], schema: Schema) -> dict:
    """A raw record for quarantine with protected values masked (``columns``: field -> source column)."""
    out = dict(raw)
    for f in schema.protected:
        col = columns.get(f.name, f.name)
        if out.get(col) not in (None, ""):
            value = pd.Series([str(out[col]).strip()])
            out[col] = masked(value)[0]
            out[f"{col} (hash)"] = keyed_hash(value)[0]
    return out


LONG_DIGITS = re.compile(r"\d(?:[ .\-]?\d){8,}")
"""Nine or more digits, alone or grouped by spaces, dots or dashes ('001 099 012 345'): an ID as
people type it. Shorter numbers (amounts, dates, unit codes) stay readable."""


def scrub(text: str) -> str:
    """Mask every long digit run: for text (a reason, an unaligned record) that may quote an ID."""
    return LONG_DIGITS.sub(lambda m: masked(pd.Series([re.sub(r"\D", "", m.group())]))[0], text)


def protect_unaligned(raw: dict) -> dict:
    """A record whose fields could not be aligned to columns (a CSV line's ``fields``, the
    ``text`` of a message that could not be parsed): which part holds the ID is unknown."""
    out = dict(raw)
    if "fields" in raw:
        out["fields"] = [scrub(str(v)) for v in raw["fields"]]
    if "text" in raw:
        out["text"] = scrub(str(raw["text"]))
    return out
