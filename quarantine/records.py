"""Quarantine rows: one per failing record, with every check it failed and why, its raw record
protected (a citizen ID masked and hashed) and every reason scrubbed of IDs it quotes."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from adapters import Batch, Rejected
from schemas import Schema, pii
from schemas.mapping import CheckFailure

Row = dict[str, Any]


@dataclass
class Quarantined:
    """What a checked batch hands to the load: the rows that go to quarantine, and the ones that don't."""
    rows: list[Row]
    good_index: pd.Index


def protector(fields: dict[str, str], schema: Schema) -> Callable[..., dict]:
    """How a raw record is kept: protected fields (a citizen ID) hashed and masked, and every other
    value, the columns the mapping does not use included, scrubbed of citizen IDs.

    ``fields`` maps the department's columns to the schema's, as in ``sources.yaml``; a record
    the adapter could not align to columns (``aligned=False``) is scrubbed as text."""
    columns = {v: k for k, v in fields.items()}

    def protect(raw: dict, aligned: bool = True) -> dict:
        return pii.protect_record(raw, columns, schema) if aligned else pii.protect_unaligned(raw)
    return protect


def scrub_reason(reason: str | None) -> str | None:
    """Reasons quote the bad value: a citizen ID in one is quoted masked."""
    return pii.scrub(reason) if reason else reason


def scrub_positions(batch: Batch) -> None:
    """A position may quote a record's key (a REST or SQL source's): an ID in one is kept masked."""
    batch.positions = pii.scrub_all(batch.positions)
    batch.rejected = [r._replace(position=pii.scrub(r.position)) for r in (Rejected(*t) for t in batch.rejected)]


def adapter_failures(batch: Batch) -> list[CheckFailure]:
    """The adapter's rejections (records it could not split into fields) as check failures,
    so that they count towards holding a batch like any other check. Their rows index
    ``batch.rejected``, not the frame."""
    by_check: dict[str, list[int]] = {}
    for i, r in enumerate(Rejected(*t) for t in batch.rejected):
        by_check.setdefault(r.check, []).append(i)
    return [CheckFailure(check, np.array(rows), lambda r: [batch.rejected[i][2] for i in r])
            for check, rows in by_check.items()]


def undecodable(batch: Batch) -> tuple[list[Row], str]:
    """A batch nothing could be split from (a file its encoding can't decode): every rejection
    is kept as it is and the batch is held with the adapter's reason, since it needs a person."""
    held = pii.scrub("; ".join(dict.fromkeys(Rejected(*t).reason for t in batch.rejected)))
    rows = [{"position": r.position, "raw": pii.protect_unaligned(r.raw), "checks": [r.check],
             "reason": pii.scrub(r.reason)}
            for r in (Rejected(*t) for t in batch.rejected)]
    return rows, held


def quarantine_rows(batch: Batch, frame: pd.DataFrame, failures: list[CheckFailure], held: str | None, *,
                    schema: Schema, fields: dict[str, str]) -> Quarantined:
    """Split a mapped batch: quarantine rows for the adapter's rejections and every failing record
    (all of them when ``held``), and the index of the mapped rows that go on to the load."""
    protect = protector(fields, schema)
    rows = [{"position": r.position, "raw": protect(r.raw, aligned=False), "checks": [r.check],
             "reason": pii.scrub(r.reason)} for r in (Rejected(*t) for t in batch.rejected)]
    if held:
        checks, reason = sorted({f.check for f in failures}) or ["held"], pii.scrub(held)  # one reason, scrubbed once
        records = batch.records.to_dict("records")
        rows += [{"position": p, "raw": protect(r), "checks": checks, "reason": reason}
                 for p, r in zip(batch.positions, records)]
        return Quarantined(rows, frame.index[:0])
    by_row: dict[int, tuple[list[str], list[str]]] = {}
    for f in failures:
        for i, reason in zip(f.rows.tolist(), f.reason(f.rows)):
            checks, reasons = by_row.setdefault(i, ([], []))
            checks.append(f.check)
            reasons.append(reason)
    failing = sorted(by_row)
    for i, raw in zip(failing, batch.records.iloc[failing].to_dict("records")):
        checks, reasons = by_row[i]
        rows.append({"position": batch.positions[i], "raw": protect(raw), "checks": checks,
                     "reason": pii.scrub("; ".join(reasons))})
    return Quarantined(rows, frame.index.difference(failing))


def left_out(batch: Batch, good: pd.DataFrame, counts: dict[str, Any], *,
             schema: Schema, fields: dict[str, str]) -> list[Row]:
    """Quarantine rows for what the merge left out (popped from its ``counts``): keys an earlier
    batch of the same read loaded (duplicates in the source, as the mapping finds them within a
    batch, whichever batch boundary falls between them), and keys another source owns."""
    earlier, owners = dict(counts.pop("repeated")), dict(counts.pop("conflicts", []))
    if not (earlier or owners):
        return []
    key = list(schema.natural_key)
    protect, rows, shown = protector(fields, schema), [], "+".join(key)
    positions = pd.Index(batch.positions)[good.index]
    hit = positions.isin([*earlier, *owners])  # the few left out, found without a Python loop over the batch
    for i, position in zip(good.index[hit], positions[hit]):
        value = good.at[i, key[0]] if len(key) == 1 else tuple(good.loc[i, key])
        if position in earlier:
            check, reason = (f"unique_key:{shown}", f"duplicate: {shown} {value!r} appears earlier in the source, "
                                                    f"at {earlier[position]}")
        else:
            check, reason = (f"key_owner:{shown}", f"{shown} {value!r} belongs to source {owners[position]!r}, "
                             f"which loaded it first; this source may change it only if its may_update "
                             f"(sources.yaml) names {owners[position]!r}")
        rows.append({"position": position, "raw": protect(batch.records.iloc[i].to_dict()), "checks": [check],
                     "reason": pii.scrub(reason)})
    return rows
