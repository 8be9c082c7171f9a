"""Skip the records that did not change since they loaded, before mapping and validating them.

A rerun of an export with one record in a hundred changed used to map and validate every record
again, and merge them only to find most unchanged. Now the warehouse keeps, per source and place
in the read (ordinal), the digest of the raw record it loaded from there
(``staging.record_digest``); a record whose digest is the same is counted ``unchanged`` and goes
no further. Only records that loaded are kept: a quarantined one is checked again each time, so
its quarantine row is seen again as before.

A digest is the md5 of the record's raw text combined with the fingerprint of everything that
decides its fate (the schema and its version, the source's mapping, the code lists and
administrative units the checks read): change any of those and nothing is skipped until each
record has been checked under the new rules. ``--full-refresh`` checks every record as well.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from adapters import Batch
from pipeline.config import SourceConfig
from schemas import Schema
from warehouse import digest
from warehouse.digest import WIDTH


def checks_fingerprint(source: SourceConfig, schema: Schema, cats) -> bytes:
    """What decides a record's fate besides its text, as 16 bytes."""
    h = hashlib.md5(json.dumps([schema.name, schema.version, schema.definition(), source.fields, source.values,  # noqa: S324 - a fingerprint of what decides a record's fate, not security
                                source.date_formats, source.timezone, cats.code_lists],
                               sort_keys=True, default=str).encode())
    units = cats.admin_units
    if len(units):
        h.update(pd.util.hash_pandas_object(units.astype(str), index=False).to_numpy().tobytes())
    return h.digest()


def keyed(batch: Batch, fingerprint: bytes) -> np.ndarray:
    """The batch's record digests, each combined with the checks' fingerprint, as (n, 16) bytes."""
    raw = np.frombuffer(batch.digests, dtype=np.uint8).reshape(-1, WIDTH)
    return raw ^ np.frombuffer(fingerprint, dtype=np.uint8)


def skip_unchanged(engine: Engine, source: SourceConfig, batch: Batch, fingerprint: bytes, *,
                   skip: bool = True) -> Batch:
    """The batch without the records whose keyed digest the warehouse holds at their ordinal, its
    digests keyed; with ``skip`` False (a full refresh) every record stays, keyed all the same."""
    if batch.first_ordinal is None or batch.digests is None or batch.rejected or not len(batch.records):
        batch.digests = None  # nothing to vouch for: the merge records no digest
        return batch
    digests = keyed(batch, fingerprint)
    first, n = batch.first_ordinal, len(batch.records)
    same = np.zeros(n, dtype=bool)
    if skip:
        ordinals, stored = digest.stored(engine, source.name, first, first + n)
        if ordinals.size:
            at = ordinals - first
            same[at] = (stored == digests[at]).all(axis=1)
    keep = np.flatnonzero(~same)
    if keep.size == n:
        batch.digests = digests.tobytes()
        return batch
    return Batch(records=batch.records.iloc[keep].reset_index(drop=True),
                 positions=[batch.positions[i] for i in keep], position=batch.position, origin=batch.origin,
                 first_ordinal=first, digests=digests[keep].tobytes(), skipped=int(same.sum()),
                 ordinals=(first + keep).astype(np.int64))


def digests_of(batch: Batch, good_index, *, skipping: bool) -> digest.Digests | None:
    """What the merge records for the rows of ``good_index`` (labels of ``batch.records``)."""
    if batch.digests is None:
        return None
    ordinals = batch.record_ordinals()
    rows = np.asarray(good_index, dtype=np.int64)
    keyed_digests = np.frombuffer(batch.digests, dtype=np.uint8).reshape(-1, WIDTH)
    return digest.Digests(ordinals=ordinals[rows], digests=keyed_digests[rows], checked=ordinals,
                          end=batch.first_ordinal + len(batch.records) + batch.skipped, skipping=skipping)
