"""A department's export file (CSV), read in chunks.

The stdlib ``csv`` reader (C code) splits records rather than ``pandas.read_csv``: pandas pads
a short line with empty values without a word and cannot hand back the text of a bad line,
and a record with the wrong number of fields must reach quarantine with its reason, not
vanish or shift columns. Each chunk becomes a ``pandas.DataFrame`` of strings.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from adapters import Adapter, Batch, register

BLOCK = 1 << 20


@register
class FileExport(Adapter):
    kind = "file"

    def __init__(self, source_name: str, options: dict[str, Any]):
        super().__init__(source_name, options)
        self.path = Path(options["path"])
        declared = options.get("encoding", "utf-8")
        try:
            name = codecs.lookup(declared).name
        except LookupError:
            raise self.fail(f"unknown encoding {declared!r} in options.encoding") from None
        # A BOM is common in exports from Windows tools; utf-8-sig reads files with or without one.
        self.encoding = "utf-8-sig" if name == "utf-8" else name
        self.declared_encoding = declared
        self.delimiter = options.get("delimiter", ",")
        self.chunk_size = int(options.get("chunk_size", 50_000))
        self._facts: dict[str, Any] | None = None

    def describe(self) -> dict[str, Any]:
        """One pass over the bytes: checksum, line count, and proof the encoding decodes.

        Decoding the whole file before the first batch means a wrong encoding fails the run
        before anything is loaded, instead of halfway through.
        """
        if self._facts is not None:
            return self._facts
        if not self.path.is_file():
            raise self.fail(f"file not found: {self.path}")
        digest, lines, offset = hashlib.sha256(), 0, 0
        decoder = codecs.getincrementaldecoder(self.encoding)("strict")
        with self.path.open("rb") as fh:
            while block := fh.read(BLOCK):
                digest.update(block)
                lines += block.count(b"\n")
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    raise self.fail(
                        f"{self.path.name} is not valid {self.declared_encoding} "
                        f"(undecodable byte at offset {offset + exc.start}); "
                        "declare the file's encoding in options.encoding"
                    ) from None
                offset += len(block)
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise self.fail(f"{self.path.name} ends inside a {self.declared_encoding} character") from None
        if offset == 0:
            raise self.fail(f"{self.path.name} is empty")
        self._facts = {"file": str(self.path), "sha256": digest.hexdigest(), "bytes": offset, "lines": lines}
        return self._facts

    def estimated_records(self) -> int | None:
        return max(self.describe()["lines"] - 1, 0)

    def header(self) -> list[str]:
        self.describe()
        with self.path.open(encoding=self.encoding, newline="") as fh:
            row = next(csv.reader(fh, delimiter=self.delimiter), None)
        return [unicodedata.normalize("NFC", c.strip()) for c in row] if row else []

    def batches(self, resume_from: dict[str, Any] | None = None) -> Iterator[Batch]:
        facts = self.describe()
        skip = 0
        if resume_from and resume_from.get("sha256") == facts["sha256"]:
            skip = int(resume_from.get("record", 0))
        name = self.path.name
        with self.path.open(encoding=self.encoding, newline="") as fh:
            reader = csv.reader(fh, delimiter=self.delimiter)
            header = [unicodedata.normalize("NFC", c.strip()) for c in next(reader, [])]
            if not any(header):
                raise self.fail(f"{name} has no header line")
            if len(set(header)) != len(header):
                raise self.fail(f"{name} repeats a column name in its header: {header}")
            width, record, line = len(header), 0, reader.line_num
            rows: list[list[str]] = []
            positions: list[str] = []
            rejected: list[tuple[str, dict, str]] = []
            seen_any = False

            def flush() -> Batch:
                batch = Batch(
                    records=pd.DataFrame(rows, columns=header, dtype=object),
                    positions=list(positions),
                    position={"file": name, "sha256": facts["sha256"], "record": record},
                    origin={"file": str(self.path), "sha256": facts["sha256"]},
                    rejected=list(rejected),
                )
                rows.clear(), positions.clear(), rejected.clear()
                return batch

            for fields in reader:
                start, line = line + 1, reader.line_num
                if not fields:  # a blank line holds no record
                    continue
                seen_any = True
                record += 1
                if record <= skip:
                    continue
                where = f"{name}:{start}"
                if len(fields) != width:
                    rejected.append((where, {"line": start, "fields": fields},
                                     f"line {start} has {len(fields)} fields where the header has {width}"))
                else:
                    rows.append(fields)
                    positions.append(where)
                if len(rows) + len(rejected) >= self.chunk_size:
                    yield flush()
            if not seen_any:
                raise self.fail(f"{name} has a header but no data rows")
            if rows or rejected:
                yield flush()
