"""A department's export file (CSV or Excel xlsx), read in chunks.

The format's reader (``adapters/csv_reader.py``, ``adapters/xlsx_reader.py``) splits records;
this module turns them into batches the same way for both: the header, records of the wrong
width to quarantine with their reason, chunks of ``chunk_size``, and the position to resume from.
Each chunk becomes a ``pandas.DataFrame`` of strings.

Encodings are what Vietnamese offices really produce: UTF-8 with or without a BOM, cp1258,
and the legacy TCVN3 and VNI (``adapters.vietnamese_text``). ``encoding: auto`` (the default)
trusts only what bytes prove: a BOM, or the whole file decoding as UTF-8. A file its declared
(or detected) encoding can't decode is not guessed at: it is quarantined whole, with the
offset of the first bad byte, and the run goes on.
"""
from __future__ import annotations

import codecs
import hashlib
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from adapters import Adapter, Batch, Rejected, register
from adapters.csv_reader import CsvReader, Irregular, Unsplit
from adapters.vietnamese_text import sniff_bom
from adapters.xlsx_reader import LEGACY_FONT_ENCODINGS, XlsxReader


def line_digests(raw, n: int) -> bytes | None:
    """The md5 of each of the next ``n`` lines of ``raw`` (a binary file), 16 bytes a line.

    On the fast path every line is one record, so a line's bytes are its record's raw text: a
    change anywhere in a record (or a record moved to another line) changes its digest. A bare
    carriage return ends a record for the CSV reader but not a line here: then the lines are not
    the records, and None says so (the records are checked in full, never skipped on a digest
    that may be another record's)."""
    lines = list(itertools.islice(raw, n))
    if len(lines) != n or any(b"\r" in line.rstrip(b"\r\n") or line.endswith(b"\r") for line in lines):
        return None
    md5 = hashlib.md5
    return b"".join([md5(line, usedforsecurity=False).digest() for line in lines])


def _label(encoding: str) -> str:
    return "utf-8" if encoding == "utf-8-sig" else encoding


@register
class FileExport(Adapter):
    kind = "file"
    snapshot = True

    def __init__(self, source_name: str, options):
        super().__init__(source_name, options)
        o = self.options
        self.path = Path(o.path)
        self.format = o.format or ("xlsx" if self.path.suffix.lower() in (".xlsx", ".xlsm") else "csv")
        self.declared_encoding = o.encoding
        self.encoding: str | None = None  # None: detect what is safe to detect
        if o.encoding.lower() != "auto":
            try:
                name = codecs.lookup(o.encoding).name
            except LookupError:
                raise self.fail(f"unknown encoding {o.encoding!r} in options.encoding "
                                "(Python's names, or tcvn3, vni, auto)") from None
            # A BOM is common in exports from Windows tools; utf-8-sig reads files with or without one.
            self.encoding = "utf-8-sig" if name == "utf-8" else name
        if self.format == "xlsx" and self.encoding not in (None, "utf-8-sig", *LEGACY_FONT_ENCODINGS):
            raise self.fail("an xlsx workbook is Unicode: options.encoding may only name the legacy font "
                            "encoding its text was typed in (tcvn3 or vni)")
        self.chunk_size = o.chunk_size
        self._facts: dict[str, Any] | None = None

    # --- facts about the file, before the first batch ------------------------------------

    def describe(self) -> dict[str, Any]:
        """The file's identity: checksum and size (one pass of hashing, nothing decoded).

        That is all a rerun of a file read to its end needs: see :meth:`batches`."""
        if self._facts is not None:
            return self._facts
        if not self.path.is_file():
            raise self.fail(f"file not found: {self.path}")
        with self.path.open("rb") as fh:
            head = fh.read(4)
            fh.seek(0)
            digest = hashlib.file_digest(fh, "sha256")
            size = fh.tell()
        if size == 0:
            raise self.fail(f"{self.path.name} is empty")
        encoding = self.encoding
        if self.format == "csv" and encoding is None:
            encoding = sniff_bom(head) or "utf-8"
        self._encoding = encoding
        self._facts = {"file": str(self.path), "sha256": digest.hexdigest(), "bytes": size,
                       "encoding": _label(encoding or "utf-8")}
        return self._facts

    def _content_facts(self) -> dict[str, Any]:
        """What the reader learns in one pass before the first batch: line count, and whether
        the encoding decodes the whole file (else it is quarantined whole, not half loaded)."""
        facts = self.describe()
        if "lines" not in facts:
            if self.format == "xlsx":
                facts.update(self._reader().facts(self.declared_encoding))
            else:
                facts.update(self._reader().facts(self._undecodable, self._encoding_name()))
        return facts

    def _reader(self) -> CsvReader | XlsxReader:
        if self.format == "xlsx":
            return XlsxReader(self.path, self.encoding, self.options.sheet, self.options.datetime_format,
                              self.fail)
        return CsvReader(self.path, self._encoding, self.options.delimiter)

    def _encoding_name(self) -> str:
        return self.declared_encoding if self.encoding else "UTF-8"

    def _undecodable(self, offset: int, byte: int) -> str:
        where = f"undecodable byte 0x{byte:02X} at offset {offset}"
        if self.encoding is None:
            return (f"{self.path.name} is not valid UTF-8 and no encoding is declared ({where}); "
                    "declare it in options.encoding (cp1258, tcvn3, vni...): the hub does not guess")
        return (f"{self.path.name} is not valid {self.declared_encoding} ({where}); "
                "declare the file's encoding in options.encoding")

    def estimated_records(self) -> int | None:
        return max(self._content_facts()["lines"] - 1, 0)

    # --- batches ---------------------------------------------------------------------------

    def batches(self, resume_from: dict[str, Any] | None = None) -> Iterator[Batch]:
        """The file's records after ``resume_from``; the last batch's position says ``complete``,
        so a rerun of the same file costs its checksum alone, not a pass to skip what was read."""
        facts = self.describe()
        same = bool(resume_from) and resume_from.get("sha256") == facts["sha256"] \
            and resume_from.get("encoding", facts["encoding"]) == facts["encoding"]
        if same and resume_from.get("complete"):
            return
        last = None
        for batch in self._batches(self._content_facts(), resume_from if same else None):
            if last is not None:
                yield last
            last = batch
        if last is not None:
            last.position["complete"] = True
            yield last

    def _batches(self, facts: dict[str, Any], resume_from: dict[str, Any] | None) -> Iterator[Batch]:
        name = self.path.name
        here = {"file": name, "sha256": facts["sha256"], "encoding": facts["encoding"]}
        origin = {"file": str(self.path), "sha256": facts["sha256"]}
        same = resume_from is not None
        if facts["undecodable"]:
            if not (same and resume_from.get("quarantined")):  # not again on a rerun of the same file
                raw = {"file": name, "sha256": facts["sha256"], "bytes": facts["bytes"],
                       "encoding": self.declared_encoding}
                yield Batch(records=pd.DataFrame(), positions=[], origin=origin,
                            position={**here, "record": 0, "quarantined": "whole file"},
                            rejected=[Rejected(name, raw, facts["undecodable"], "encoding")])
            return
        skip = int(resume_from.get("record", 0)) if same else 0
        reader = self._reader()
        if self.format == "csv" and facts["encoding"] == "utf-8" and self.options.fast:
            done = skip
            try:
                with self.path.open("rb") as raw:  # the same lines as bytes, for each record's digest
                    for _ in range(1 + skip):
                        raw.readline()
                    aligned = True  # once a bare carriage return shifts lines from records, for good
                    for header, table in reader.fast_tables(skip, self.chunk_size):
                        frame = table.to_pandas()
                        frame.columns = header
                        lines = np.arange(done + 2, done + 2 + len(frame))
                        first, done = done, done + len(frame)
                        digests = line_digests(raw, len(frame)) if aligned else None
                        aligned = digests is not None
                        yield Batch(records=frame, positions=np.char.add(f"{name}:", lines.astype(str)).tolist(),
                                    position={**here, "record": done}, origin=origin, first_ordinal=first,
                                    digests=digests)
                if done:
                    return
            except Irregular:
                pass
            skip = done  # the exact reader takes over from the first record not yet yielded
        lines = reader.rows()
        first = next(lines, (1, []))[1]
        if isinstance(first, Unsplit):
            raise self.fail(f"{name}'s header line can't be split: {first.reason}")
        header = reader.header(first)
        if not any(header):
            raise self.fail(f"{name} has no header line")
        if len(set(header)) != len(header):
            raise self.fail(f"{name} repeats a column name in its header: {header}")
        width, record, seen_any = len(header), 0, False
        rows: list[list[Any]] = []
        positions: list[str] = []
        rejected: list[Rejected] = []

        def flush() -> Batch:
            batch = Batch(records=pd.DataFrame(rows, columns=header, dtype=object), positions=list(positions),
                          position={**here, "record": record}, origin=origin, rejected=list(rejected))
            rows.clear(), positions.clear(), rejected.clear()
            return batch

        for number, fields in lines:
            if not isinstance(fields, Unsplit):
                fields = reader.record(fields, width)
                if fields is None:
                    continue
            seen_any = True
            record += 1
            if record <= skip:
                continue
            where = f"{name}:{number}"
            if isinstance(fields, Unsplit):
                rejected.append(Rejected(where, fields.raw, fields.reason, fields.check))
            elif len(fields) != width:
                rejected.append(Rejected(where, {"line": number, "fields": fields},
                                         reader.misshapen(number, fields, width)))
            else:
                rows.append(fields)
                positions.append(where)
            if len(rows) + len(rejected) >= self.chunk_size:
                yield flush()
        if not seen_any:
            raise self.fail(f"{name} has a header but no data rows")
        if rows or rejected:
            yield flush()
