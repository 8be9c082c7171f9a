"""Map: a source's raw records onto a schema, field by field, without per-row Python.

Renames the department's columns, trims and NFC-normalises text (a name typed in NFD and
the same name in NFC are one person), translates the department's values into the schema's
codes, and parses dates as Vietnamese systems write them (dd/mm/yyyy first). A value that
can't be parsed is a *mapping check* failure: the row goes to quarantine with the value
named, never silently becomes empty.
"""
from __future__ import annotations

from common.errors import HubError

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas import Schema, pii


class MappingError(HubError, ValueError):
    """The batch as a whole does not fit the schema (columns missing)."""


@dataclass
class CheckFailure:
    """Rows that failed one check; reasons are built only when asked, as a held batch needs none."""

    check: str
    rows: np.ndarray
    reason: Callable[[np.ndarray], list[str]]


@dataclass
class Mapped:
    frame: pd.DataFrame
    failures: list[CheckFailure]

    def failed_rows(self) -> np.ndarray:
        if not self.failures:
            return np.empty(0, dtype=np.int64)
        return np.unique(np.concatenate([f.rows for f in self.failures]))


def _human_format(fmt: str) -> str:
    return (fmt.replace("%d", "dd").replace("%m", "mm").replace("%Y", "yyyy")
            .replace("%H", "HH").replace("%M", "MM").replace("%S", "SS"))


def _text(series: pd.Series) -> pd.Series:
    """Trim and NFC-normalise each distinct value once: columns repeat their values a lot.

    For a column read by Arrow, Arrow finds the distinct values, and those that are ASCII with
    nothing to trim are clean as they are; Python cleans only the others."""
    arrow = _arrow_strings(series)
    if arrow is None:
        return _clean_each_distinct(series)
    encoded = pc.dictionary_encode(arrow.combine_chunks() if isinstance(arrow, pa.ChunkedArray) else arrow)
    uniques = encoded.dictionary
    plain = pc.and_(pc.string_is_ascii(uniques), pc.invert(pc.match_substring_regex(uniques, _EDGE_SPACE_OR_EMPTY)))
    plain = plain.to_numpy(zero_copy_only=False)
    clean = np.empty(len(uniques) + 1, dtype=object)  # the last one, None, for missing values
    clean[:-1][plain] = uniques.filter(plain).to_numpy(zero_copy_only=False)
    clean[:-1][~plain] = [unicodedata.normalize("NFC", u.strip()) or None for u in uniques.filter(~plain).to_pylist()]
    out = clean[encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)]
    return pd.Series(out, index=series.index, dtype=object)


# Python's str.strip() on ASCII strips exactly these; an empty value becomes a missing one.
_EDGE_SPACE_OR_EMPTY = r"^$|^[\t\n\x0b\x0c\r\x1c-\x1f ]|[\t\n\x0b\x0c\r\x1c-\x1f ]$"


def _arrow_strings(series: pd.Series) -> pa.ChunkedArray | pa.Array | None:
    """The column's Arrow strings when it is held as Arrow strings (read by Arrow), else None."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return pa.array(series)
    return None


def _clean_each_distinct(series: pd.Series) -> pd.Series:
    """Trim and NFC-normalise each distinct value once: columns repeat their values a lot."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    clean = [unicodedata.normalize("NFC", str(u).strip()) or None for u in uniques]
    out = np.array(clean + [None], dtype=object)[codes]  # the sentinel -1 picks the trailing None
    return pd.Series(out, index=series.index, dtype=object)


def _strptime(s: pd.Series, fmt: str) -> pd.Series:
    """``pd.to_datetime(s, format=fmt, errors="coerce")`` in microseconds.

    A format of a date and a time of day parses each distinct date and each distinct time once
    (an export of a million rows holds a few hundred days and at most 1,440 minutes), and adds
    them; a value that isn't one date, one space and one time, or whose date or time the parser
    refuses, is parsed whole as before, so what fails fails with the same result."""
    def whole(values: pd.Series) -> pd.Series:
        return pd.to_datetime(values, format=fmt, errors="coerce").astype("datetime64[us]")

    if fmt.count(" ") != 1 or len(s) < 1000:
        return whole(s)
    try:
        arrow = pa.array(s, type=pa.string(), from_pandas=True)
    except (pa.ArrowException, TypeError):
        return whole(s)
    day_format, time_format = fmt.split(" ")
    parts = pc.extract_regex(arrow, r"^(?P<day>[^ ]+) (?P<time>[^ ]+)$")

    def distinct(field: str, part_format: str) -> np.ndarray:
        encoded = pc.struct_field(parts, field).dictionary_encode()
        values = pd.to_datetime(pd.Series(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object),
                                format=part_format, errors="coerce").astype("datetime64[us]").to_numpy()
        codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        return np.append(values, np.datetime64("NaT", "us"))[codes]  # -1 (no match) picks NaT

    days = distinct("day", day_format)
    times = distinct("time", time_format) - np.datetime64("1900-01-01", "us")
    out = pd.Series(days + times, index=s.index, dtype="datetime64[us]")
    missed = out.isna().to_numpy() & s.notna().to_numpy()
    if missed.any():
        out[missed] = whole(s[missed])
    return out


def _parse_timestamps(s: pd.Series, formats: tuple[str, ...], tz: str | None) -> pd.Series:
    """Naive for ``tz=None``: a date is a calendar day, not its midnight, which a time zone's
    history may have skipped (Asia/Ho_Chi_Minh has no 1955-07-01 00:00)."""
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    todo = s.notna()
    for fmt in formats:
        if not todo.any():
            break
        parsed = _strptime(s[todo], fmt)
        out[parsed.index] = out[parsed.index].fillna(parsed)
        todo &= out.isna()
    return out if tz is None else out.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")


def map_records(records: pd.DataFrame, *, schema: Schema, fields: dict[str, str],
                values: dict[str, dict[str, str]], date_formats: tuple[str, ...],
                timezone: str, locale: str | None = None) -> Mapped:
    """Return the batch in schema form plus the rows that failed a mapping check."""
    column_of = {v: k for k, v in fields.items()} if fields else {f: f for f in schema.field_names}
    unknown_targets = set(column_of) - set(schema.field_names)
    if unknown_targets:
        raise MappingError(f"the field mapping names fields not in schema {schema.name!r}: "
                           f"{', '.join(sorted(unknown_targets))}")
    missing = [f"{column_of.get(f, f)} ({f})" for f in schema.required_fields
               if column_of.get(f, f) not in records.columns]
    if missing:
        has = [str(c) for c in records.columns]
        shown = ", ".join(has[:40]) + (f", ... ({len(has)} in all)" if len(has) > 40 else "")
        raise MappingError(f"missing required columns: {', '.join(missing)}; the source's columns are: "
                           f"{shown or 'none'}")

    frame = pd.DataFrame(index=records.index)
    failures: list[CheckFailure] = []
    for f in schema.fields:
        col = column_of.get(f.name)
        raw = records[col] if col in records.columns else pd.Series(None, index=records.index, dtype=object)
        text = _text(raw)
        _add(failures, f"nul_byte:{f.name}", _holds_nul(text), text,
             lambda v, n=f.name: f"{n} holds a NUL byte (0x00) at character {v.index(chr(0)) + 1}, "
                                 "which PostgreSQL text can't store")
        if f.name in values:
            text = text.replace(values[f.name])
        if f.type == "timestamp" or f.type == "date":
            parsed = _parse_timestamps(text, date_formats, timezone if f.type == "timestamp" else None)
            if f.type == "date":
                parsed = parsed.dt.date
            bad = text.notna() & parsed.isna()
            formats = " or ".join(_human_format(x) for x in date_formats[:3])
            _add(failures, f"parse_date:{f.name}", bad, text,
                 lambda v, n=f.name: f"{n} {v!r} is not a valid date ({formats}, ...)")
            _outside_bounds(f, parsed, failures, timezone if f.type == "timestamp" else None)
            frame[f.name] = parsed
        elif f.type in ("integer", "decimal"):
            parsed = parse_numbers(text, locale)
            if f.type == "integer":  # a fraction, or beyond what a float holds exactly, is no integer
                parsed = parsed.where((parsed % 1 == 0) & (parsed.abs() < 2 ** 53))
            bad = text.notna() & parsed.isna()
            _add(failures, f"parse_number:{f.name}", bad, text,
                 lambda v, n=f.name: f"{n} {v!r} is not a number{NUMBER_HINT.get(locale, '')}")
            _outside_bounds(f, parsed, failures)
            frame[f.name] = parsed.astype("Int64") if f.type == "integer" else parsed
        elif f.type == "boolean":
            lowered = text.str.lower()
            parsed = lowered.map({"true": True, "1": True, "có": True, "false": False, "0": False, "không": False})
            bad = text.notna() & parsed.isna()
            _add(failures, f"parse_boolean:{f.name}", bad, text,
                 lambda v, n=f.name: f"{n} {v!r} is not true/false")
            frame[f.name] = parsed.astype("boolean")
        else:
            frame[f.name] = _without_ids(f, f.name in schema.natural_key, text, failures)

    key = list(schema.natural_key)
    complete = frame[key].notna().all(axis=1)
    dup = frame[key].duplicated(keep="first") & complete
    shown = frame[key].apply(tuple, axis=1) if len(key) > 1 else frame[key[0]]
    _add(failures, "unique_key:" + "+".join(key), dup, shown,
         lambda v, k="+".join(key): f"duplicate: {k} {v!r} appears earlier in the same batch")
    return Mapped(frame=frame, failures=failures)


NUMBERS = {
    None: r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?",
    "vi": r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?",
}
"""How a number is written, by the locale a source declares: plain (a point before decimals, no
grouping: machine formats, JSON, databases) or Vietnamese ('.' groups thousands, ',' before
decimals: '720.000' is 720000, '1.234,5' is 1234.5). No spelling of infinity or NaN is a number."""
NUMBER_HINT = {"vi": " (Vietnamese: 1.234.567,89)"}


def parse_numbers(text: pd.Series, locale: str | None = None) -> pd.Series:
    """Numbers as the source's locale writes them; anything else (a wrong grouping, 'inf', 'NaN',
    an overflow to infinity) is missing, so the caller quarantines it with its text."""
    well_formed = text.str.fullmatch(NUMBERS[locale]).fillna(False).astype(bool)
    if locale == "vi":
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    parsed = pd.to_numeric(text.where(well_formed), errors="coerce")
    return parsed.where(np.isfinite(parsed.astype("float64")))


def _outside_bounds(f, parsed: pd.Series, failures: list[CheckFailure], tz: str | None = None) -> None:
    """Quarantine what parsed but is implausible: a negative count, a birth in 1800, a due date in
    2999 (the schema's ``min`` and ``max``; ``not_in_future`` is the suite's, as it moves with time)."""
    if f.min is None and f.max is None:
        return
    if f.type in ("date", "timestamp"):
        values = pd.to_datetime(parsed) if f.type == "date" else parsed
        bound = (lambda b: pd.Timestamp(b).tz_localize(tz)) if tz else pd.Timestamp
    else:
        values, bound = parsed.astype("float64"), float
    low = values < bound(f.min) if f.min is not None else False
    high = values > bound(f.max) if f.max is not None else False
    outside = (low | high) & parsed.notna()
    shown = lambda b: f"{b:g}" if isinstance(b, float) else str(b)  # noqa: E731
    span = (f"from {shown(f.min)} to {shown(f.max)}" if f.min is not None and f.max is not None
            else f"at least {shown(f.min)}" if f.min is not None else f"at most {shown(f.max)}")
    _add(failures, f"range:{f.name}", outside, parsed,
         lambda v, n=f.name: f"{n} {shown(v) if isinstance(v, float) else v} is outside its plausible range ({span})")


def _without_ids(f, in_key: bool, text: pd.Series, failures: list[CheckFailure]) -> pd.Series:
    """A text field as it may be kept: no citizen ID in it unless the schema protects the field.

    In free text (no pattern, code list or format; not part of the key) an ID is masked where it
    stands and the text kept; in a code, a name or a key it can't be masked without changing what
    the value means (two IDs would mask alike), so the record goes to quarantine."""
    if f.protect:
        return text
    ids = pii.with_ids(text)
    if not ids.any():
        return text
    if not (in_key or f.pattern or f.code_list or f.format):
        return text.where(~ids, text[ids].map(pii.scrub))
    _add(failures, f"citizen_id:{f.name}", ids, text.where(~ids, text[ids].map(pii.scrub)),
         lambda v, n=f.name: f"{n} {v!r} holds what looks like a citizen ID (CCCD or CMND); a field meant to "
                             f"hold one is declared 'protect: hashed' in its schema")
    return text


def _holds_nul(text: pd.Series) -> pd.Series:
    """Values with a NUL character: PostgreSQL refuses them in text, and one failed the whole batch
    (and every rerun of it), so the record is quarantined instead. Checked over distinct values."""
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    if not len(uniques) or not any("\x00" in u for u in uniques if isinstance(u, str)):
        return pd.Series(False, index=text.index)
    flags = np.array([isinstance(u, str) and "\x00" in u for u in uniques] + [False])
    return pd.Series(flags[codes], index=text.index)


def _add(failures: list[CheckFailure], check: str, mask: pd.Series, shown: pd.Series,
         describe: Callable[[object], str]) -> None:
    rows = np.flatnonzero(mask.to_numpy(dtype=bool))
    if rows.size:
        failures.append(CheckFailure(check, rows, lambda r: [describe(shown.iloc[i]) for i in r]))
