"""``staging.record_digest``: the digest of the raw record each source loaded at each ordinal.

Read before mapping (``pipeline.unchanged`` skips the records whose digest is the same), written
by the merge in the batch's transaction, so a digest is never ahead of the core row it vouches
for: a record's digest is kept only while the core row its key names is the one it loaded.
"""
from __future__ import annotations

import binascii
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, Engine, text

WIDTH = 16


@dataclass
class Digests:
    """What the merge records for a batch: ordinal and digest of each staged row, the ordinals
    checked this time (their old digests go), and whether the run skipped records (then a key one
    of them holds, read earlier in the run, makes a staged row with that key a duplicate)."""
    ordinals: np.ndarray
    digests: np.ndarray
    checked: np.ndarray
    end: int
    skipping: bool

    def hex_column(self) -> list[str]:
        """The digests as bytea literals for COPY's text input."""
        text = binascii.hexlify(self.digests.tobytes()).decode("ascii")
        return ["\\x" + text[i:i + 2 * WIDTH] for i in range(0, len(text), 2 * WIDTH)]


STORED = text(
    "SELECT string_agg(int8send(ordinal), ''::bytea ORDER BY ordinal), string_agg(digest, ''::bytea ORDER BY ordinal) "
    "FROM staging.record_digest WHERE source = :source AND ordinal >= :start AND ordinal < :end")
FORGET = text("DELETE FROM staging.record_digest WHERE source = :source AND ordinal = ANY(CAST(:ordinals AS bigint[]))")
FORGET_RANGE = text("DELETE FROM staging.record_digest WHERE source = :source AND ordinal BETWEEN :first AND :last")


def stored(engine: Engine, source: str, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """The ordinals in [start, end) the source holds a digest for, and those digests ((n, 16) bytes),
    fetched as two byte strings rather than a row each."""
    with engine.connect() as conn:
        ordinals, digests = conn.execute(STORED, {"source": source, "start": start, "end": end}).one()
    if not ordinals:
        return np.empty(0, dtype=np.int64), np.empty((0, WIDTH), dtype=np.uint8)
    return (np.frombuffer(ordinals, dtype=">i8").astype(np.int64),
            np.frombuffer(digests, dtype=np.uint8).reshape(-1, WIDTH))


def forget(conn: Connection, source: str, ordinals: np.ndarray) -> None:
    """Drop the digests of the ordinals checked again: only the merge's outcome may vouch for them.

    A batch checked whole (a first load, a full refresh, a run with nothing unchanged) is one
    range: sending its 100,000 ordinals as an array cost 0.3 s a batch, a range costs nothing."""
    if not ordinals.size:
        return
    first, last = int(ordinals.min()), int(ordinals.max())
    if last - first + 1 == ordinals.size and np.unique(ordinals).size == ordinals.size:
        conn.execute(FORGET_RANGE, {"source": source, "first": first, "last": last})
    else:
        conn.execute(FORGET, {"source": source, "ordinals": ordinals.tolist()})
