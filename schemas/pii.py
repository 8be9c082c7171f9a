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
from typing import Any

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


def _hash(k: bytes, v: Any) -> str | None:
    return None if v is None or pd.isna(v) else hmac.new(k, str(v).encode(), hashlib.sha256).hexdigest()


def hashed(v: Any) -> str | None:
    """One value's keyed hash, as stored in a protected field's ``_hash`` column."""
    return _hash(key(), v)


def keyed_hash(values: pd.Series) -> pd.Series:
    k = key()
    return values.map(lambda v: _hash(k, v))


def mask(v: Any) -> str | None:
    """One value masked as a person may see it ("001*******45"), without a Series around it."""
    if v is None or pd.isna(v):
        return None
    v = str(v)
    return v[:3] + "*" * max(len(v) - 5, 0) + v[-2:] if len(v) > 5 else "*" * len(v)


def masked(values: pd.Series) -> pd.Series:
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
            value = str(out[col]).strip()
            out[col] = mask(value)
            out[f"{col} (hash)"] = _hash(key(), value)
    return out


_TOKEN = re.compile(r"(?P<hash>\b[0-9a-fA-F]{32,}\b)|(?<!\w)(?<!\w[.\-])(?P<run>\d(?:[ .\-]?\d)*)(?![.\-]?\w)")
"""A digest (kept whole: a file's sha256 is no one's ID), or a run of digits grouped by single
spaces, dots or dashes ('001 099 012 345'), as people type an ID, standing apart from letters:
digits glued to letters, or joined to them by a dot or dash, are a code's ('G24.250604.000000',
'H10-250101-0001'), not a person's."""
ID_DIGITS = (9, 12)
"""A CMND has 9 digits, a CCCD 12. Other lengths (a 10- or 13-digit tax code, a 10-digit phone
number, amounts, dates, unit codes) stay readable; an amount of exactly 9 digits ('720.000.000')
is masked in text too: it can't be told from a CMND typed with dots."""
_CANDIDATE = r"\d([ .\-]?\d){8}"
"""Arrow's (RE2) test for a value that may hold one: nine digits, grouped or not."""


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _mask_run(run: str) -> str:
    if len(_digits(run)) in ID_DIGITS:
        return mask(_digits(run))
    if " " not in run:
        return run
    # numbers side by side ('07552 001 099 012 346'): an ID may be any neighbouring groups of them
    parts, out, i = run.split(" "), [], 0
    while i < len(parts):
        for j in range(len(parts), i, -1):
            if len(_digits(" ".join(parts[i:j]))) in ID_DIGITS:
                out.append(mask(_digits(" ".join(parts[i:j]))))
                i = j
                break
        else:
            out.append(parts[i])
            i += 1
    return " ".join(out)


def scrub(text: str) -> str:
    """Mask every citizen ID in ``text`` (a reason, a free-text field, an unaligned record)."""
    return _TOKEN.sub(lambda m: m.group("hash") or _mask_run(m.group("run")), text)


def holds_id(text: str) -> bool:
    return scrub(text) != text


def scrub_value(value: Any) -> Any:
    """``value`` with every string in it scrubbed, however nested (a raw record, a JSON page)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: scrub_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_value(v) for v in value]
    return value


def with_ids(values: pd.Series) -> pd.Series:
    """Which values hold a citizen ID, testing each distinct value once (Arrow filters first)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    present = values.notna()
    out = pd.Series(False, index=values.index)
    if not present.any():
        return out
    distinct = pd.unique(values[present].astype(str))
    candidates = pc.match_substring_regex(pa.array(distinct, type=pa.string()), _CANDIDATE) \
        .to_numpy(zero_copy_only=False)
    found = {v for v in distinct[candidates] if holds_id(v)}
    if found:
        out[present] = values[present].astype(str).isin(found).to_numpy()
    return out


def scrub_all(texts: list[str]) -> list[str]:
    """:func:`scrub` over many strings (a batch's positions), Arrow picking the few to look at."""
    if not texts:
        return texts
    series = pd.Series(texts, dtype=object)
    ids = with_ids(series)
    return series.where(~ids, series[ids].map(scrub)).tolist() if ids.any() else texts


def protect_record(raw: dict, columns: dict[str, str], schema: Schema) -> dict:
    """A raw record as quarantine keeps it: protected fields hashed and masked, and every other
    value, the columns the mapping does not use included, scrubbed of citizen IDs."""
    out = protect_raw(raw, columns, schema) if schema.protected else dict(raw)
    return {k: v if k.endswith(" (hash)") else scrub_value(v) for k, v in out.items()}


def protect_unaligned(raw: dict) -> dict:
    """A record whose fields could not be aligned to columns (a CSV line's ``fields``, the
    ``text`` of a message that could not be parsed): which part holds the ID is unknown."""
    return scrub_value(raw)
