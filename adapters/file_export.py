"""A department's export file (CSV or Excel xlsx), read in chunks.

The stdlib ``csv`` reader (C code) splits records rather than ``pandas.read_csv``: pandas pads
a short line with empty values without a word and cannot hand back the text of a bad line,
and a record with the wrong number of fields must reach quarantine with its reason, not
vanish or shift columns. Each chunk becomes a ``pandas.DataFrame`` of strings.

Encodings are what Vietnamese offices really produce: UTF-8 with or without a BOM, cp1258,
and the legacy TCVN3 and VNI (``adapters.vietnamese_text``). ``encoding: auto`` (the default)
trusts only what bytes prove: a BOM, or the whole file decoding as UTF-8. A file its declared
(or detected) encoding can't decode is not guessed at: it is quarantined whole, with the
offset of the first bad byte, and the run goes on. Every line is NFC before it is split, so
cp1258's combining marks never reach the schema, nor the quarantine's raw records.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import itertools
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from adapters import Adapter, Batch, Rejected, register
from adapters.vietnamese_text import sniff_bom

BLOCK = 1 << 20
LEGACY_FONT_ENCODINGS = ("tcvn3", "vni")


def _nfc_lines(lines: Iterable[str]) -> Iterator[str]:
    # Per line, not per block: a block boundary could split a letter from its combining mark.
    normalize = unicodedata.normalize
    return (line if line.isascii() else normalize("NFC", line) for line in lines)


class _Irregular(Exception):
    """The fast CSV path met a line that isn't one plain record: hand over at this record."""


def line_digests(raw, n: int) -> bytes:
    """The md5 of each of the next ``n`` lines of ``raw`` (a binary file), 16 bytes a line.

    On the fast path every line is one record, so a line's bytes are its record's raw text: a
    change anywhere in a record (or a record moved to another line) changes its digest."""
    md5 = hashlib.md5
    return b"".join([md5(line).digest() for line in itertools.islice(raw, n)])


def _label(encoding: str) -> str:
    return "utf-8" if encoding == "utf-8-sig" else encoding


@register
class FileExport(Adapter):
    kind = "file"
    snapshot = True

    def __init__(self, source_name: str, options: dict[str, Any]):
        super().__init__(source_name, options)
        self.path = Path(options["path"])
        self.format = str(options.get("format") or ("xlsx" if self.path.suffix.lower() in (".xlsx", ".xlsm")
                                                    else "csv")).lower()
        if self.format not in ("csv", "xlsx"):
            raise self.fail(f"unknown format {self.format!r} in options.format (known: csv, xlsx)")
        declared = str(options.get("encoding", "auto"))
        self.declared_encoding = declared
        self.encoding: str | None = None  # None: detect what is safe to detect
        if declared.lower() != "auto":
            try:
                name = codecs.lookup(declared).name
            except LookupError:
                raise self.fail(f"unknown encoding {declared!r} in options.encoding "
                                "(Python's names, or tcvn3, vni, auto)") from None
            # A BOM is common in exports from Windows tools; utf-8-sig reads files with or without one.
            self.encoding = "utf-8-sig" if name == "utf-8" else name
        if self.format == "xlsx" and self.encoding not in (None, "utf-8-sig", *LEGACY_FONT_ENCODINGS):
            raise self.fail("an xlsx workbook is Unicode: options.encoding may only name the legacy font "
                            "encoding its text was typed in (tcvn3 or vni)")
        self.delimiter = options.get("delimiter", ",")
        self.chunk_size = int(options.get("chunk_size", 50_000))
        self.sheet = options.get("sheet")
        self.datetime_format = options.get("datetime_format", "%Y-%m-%d %H:%M:%S")
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
        """One pass over the bytes before the first batch: line count, and proof that the
        encoding decodes. Decoding the whole file first means a wrong encoding quarantines the
        file whole instead of failing halfway, after some batches loaded."""
        facts = self.describe()
        if "lines" in facts:
            return facts
        lines, size, problem = 0, 0, None
        decoder = codecs.getincrementaldecoder(self._encoding)("strict") if self.format == "csv" else None
        with self.path.open("rb") as fh:
            while block := fh.read(BLOCK):
                lines += block.count(b"\n")
                if decoder and problem is None:
                    try:
                        decoder.decode(block)
                    except UnicodeDecodeError as exc:
                        problem = self._undecodable(size + exc.start, block[exc.start])
                size += len(block)
        if decoder and problem is None:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                problem = f"{self.path.name} ends inside a {self._encoding_name()} character"
        facts.update(lines=lines, undecodable=problem)
        if self.format == "xlsx":
            facts.update(self._xlsx_facts())
        return facts

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
        if self.format == "csv" and facts["encoding"] == "utf-8" and self.options.get("fast", True):
            done = skip
            try:
                for batch in self._arrow_batches(skip, here, origin):
                    done = batch.position["record"]
                    yield batch
                return
            except _Irregular:
                skip = done  # the exact reader takes over from the first record not yet yielded
        lines = self._xlsx_rows() if self.format == "xlsx" else self._csv_rows(facts["encoding"])
        first = next(lines, (1, []))[1]
        header = [unicodedata.normalize("NFC", str(c).strip()) if c is not None else "" for c in first]
        while header and not header[-1] and self.format == "xlsx":
            header.pop()
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
            if self.format == "xlsx":  # empty trailing cells are missing values, not a wrong shape
                while len(fields) > width and fields[-1] is None:
                    fields.pop()
                if all(v is None for v in fields):
                    continue
                fields += [None] * (width - len(fields))
            elif not fields:  # a blank line holds no record
                continue
            seen_any = True
            record += 1
            if record <= skip:
                continue
            where = f"{name}:{number}"
            if len(fields) != width:
                what = "line" if self.format == "csv" else "row"
                rejected.append(Rejected(where, {"line": number, "fields": fields},
                                         f"{what} {number} has {len(fields)} fields where the header has {width}"))
            else:
                rows.append(fields)
                positions.append(where)
            if len(rows) + len(rejected) >= self.chunk_size:
                yield flush()
        if not seen_any:
            raise self.fail(f"{name} has a header but no data rows")
        if rows or rejected:
            yield flush()

    def _arrow_batches(self, skip: int, here: dict, origin: dict) -> Iterator[Batch]:
        """The fast path: Arrow's CSV reader, for UTF-8 files whose every line is one record.

        It is several times faster than splitting lines in Python, but it can't say which line
        a record came from. So it is trusted only while every line is a record of the header's
        width (a blank line, a short or long line, a value with a line break in it all make an
        invalid row); at the first irregular line it stops before yielding that chunk and the
        exact reader carries on from there, so positions are exact lines on either path.
        """
        import pyarrow as pa
        import pyarrow.csv as pacsv

        with self.path.open(encoding="utf-8-sig", newline="") as fh:
            first = next(csv.reader(fh, delimiter=self.delimiter), [])
        header = [unicodedata.normalize("NFC", c.strip()) for c in first]
        if not any(header) or len(set(header)) != len(header):
            raise _Irregular(skip)  # the exact reader says what is wrong with the header
        irregular: list[int] = []

        def invalid(row) -> str:
            irregular.append(row.number or 0)
            return "skip"

        names = [f"c{i}" for i in range(len(header))]
        # Small blocks: the reader reads several ahead, and at 8 MB a block they held 150 MB of a
        # 150 MB file for no gain in speed (measured in bench/, docs/PERFORMANCE.md).
        reader = pacsv.open_csv(
            self.path,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, skip_rows_after_names=skip,
                                           block_size=BLOCK),
            parse_options=pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=False,
                                             ignore_empty_lines=False, invalid_row_handler=invalid),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
        pending = None  # an Arrow table of rows read but not yet yielded
        record = skip
        name = self.path.name
        raw = self.path.open("rb")  # the same lines as bytes, for each record's digest
        for _ in range(1 + skip):
            raw.readline()

        def take(n: int) -> Batch:
            nonlocal record, pending
            frame = pending.slice(0, n).to_pandas()
            pending = pending.slice(n)
            frame.columns = header
            lines = np.arange(record + 2, record + 2 + len(frame))
            first, record = record, record + len(frame)
            return Batch(records=frame, positions=np.char.add(f"{name}:", lines.astype(str)).tolist(),
                         position={**here, "record": record}, origin=origin, first_ordinal=first,
                         digests=line_digests(raw, len(frame)))

        with raw:
            for chunk in reader:
                if irregular:
                    raise _Irregular(record)
                table = pa.Table.from_batches([chunk])
                pending = table if pending is None else pa.concat_tables([pending, table])
                while pending.num_rows >= self.chunk_size:
                    yield take(self.chunk_size)
            if irregular:
                raise _Irregular(record)
            if pending is not None and pending.num_rows:
                yield take(pending.num_rows)
        if record == 0:
            raise _Irregular(0)  # no data rows: the exact reader says so

    def _csv_rows(self, encoding: str) -> Iterator[tuple[int, list[str]]]:
        with self.path.open(encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="") as fh:
            reader = csv.reader(_nfc_lines(fh), delimiter=self.delimiter)
            line = 0
            for fields in reader:
                start, line = line + 1, reader.line_num
                yield start, fields

    # --- xlsx ------------------------------------------------------------------------------

    def _open_sheet(self):
        import openpyxl  # only xlsx sources pay for the import

        try:
            book = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # zipfile.BadZipFile, InvalidFileException, KeyError...
            raise self.fail(f"{self.path.name} is not an xlsx workbook ({type(exc).__name__})") from None
        if self.sheet is None:
            return book, book.worksheets[0]
        names = book.sheetnames
        if isinstance(self.sheet, int) and 0 <= self.sheet < len(names):
            return book, book.worksheets[self.sheet]
        if self.sheet in names:
            return book, book[self.sheet]
        book.close()
        raise self.fail(f"{self.path.name} has no sheet {self.sheet!r} (sheets: {', '.join(names)})")

    def _xlsx_facts(self) -> dict[str, Any]:
        """Row count for progress, and, for text typed in a legacy font, proof that every cell decodes."""
        book, sheet = self._open_sheet()
        try:
            facts: dict[str, Any] = {"lines": sheet.max_row or 0, "sheet": sheet.title}
            if self.encoding in LEGACY_FONT_ENCODINGS:
                from openpyxl.utils import get_column_letter

                for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                    for col, value in enumerate(row, start=1):
                        if isinstance(value, str) and not value.isascii():
                            try:
                                value.encode("latin-1").decode(self.encoding)
                            except UnicodeError as exc:
                                bad = value[exc.start]  # latin-1: one byte per character
                                facts["undecodable"] = (
                                    f"{self.path.name}: cell {sheet.title}!{get_column_letter(col)}{number} "
                                    f"holds {bad!r}, which is not {self.declared_encoding} text; "
                                    "declare the workbook's encoding in options.encoding")
                                return facts
            return facts
        finally:
            book.close()

    def _xlsx_rows(self) -> Iterator[tuple[int, list[str | None]]]:
        book, sheet = self._open_sheet()
        try:
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, [self._cell_text(v) for v in row]
        finally:
            book.close()

    def _cell_text(self, value: Any) -> str | None:
        """A cell as the string a CSV export would hold: the mapping parses every source alike."""
        if value is None:
            return None
        if isinstance(value, str):
            if self.encoding in LEGACY_FONT_ENCODINGS and not value.isascii():
                value = value.encode("latin-1").decode(self.encoding)
            return value if value.isascii() else unicodedata.normalize("NFC", value)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, datetime):
            return value.strftime(self.datetime_format)
        if isinstance(value, (date, time)):
            return value.isoformat()
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
