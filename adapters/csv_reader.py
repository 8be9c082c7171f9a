"""CSV, for ``adapters/file_export.py``: the stdlib reader for every record, Arrow while it can.

The stdlib ``csv`` reader (C code) splits records rather than ``pandas.read_csv``: pandas pads
a short line with empty values without a word and cannot hand back the text of a bad line, and
a record with the wrong number of fields must reach quarantine with its reason, not vanish or
shift columns. Every line is NFC before it is split, so cp1258's combining marks never reach
the schema, nor the quarantine's raw records.
"""
from __future__ import annotations

import codecs
import csv
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

BLOCK = 1 << 20


class Irregular(Exception):
    """The fast path met a line that isn't one plain record: hand over at this record."""


def nfc_lines(lines: Iterable[str]) -> Iterator[str]:
    # Per line, not per block: a block boundary could split a letter from its combining mark.
    normalize = unicodedata.normalize
    return (line if line.isascii() else normalize("NFC", line) for line in lines)


class CsvReader:
    unit = "line"

    def __init__(self, path: Path, encoding: str, delimiter: str):
        self.path, self.encoding, self.delimiter = path, encoding, delimiter

    def facts(self, undecodable: Callable[[int, int], str], what: str) -> dict:
        """One pass over the bytes: line count, and proof that the encoding decodes.

        Decoding the whole file first means a wrong encoding quarantines the file whole instead
        of failing halfway, after some batches loaded."""
        lines, size, problem = 0, 0, None
        decoder = codecs.getincrementaldecoder(self.encoding)("strict")
        with self.path.open("rb") as fh:
            while block := fh.read(BLOCK):
                lines += block.count(b"\n")
                if problem is None:
                    try:
                        decoder.decode(block)
                    except UnicodeDecodeError as exc:
                        problem = undecodable(size + exc.start, block[exc.start])
                size += len(block)
        if problem is None:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                problem = f"{self.path.name} ends inside a {what} character"
        return {"lines": lines, "undecodable": problem}

    def header(self, first: list) -> list[str]:
        return [unicodedata.normalize("NFC", str(c).strip()) for c in first]

    def record(self, fields: list, width: int) -> list | None:
        """The fields of one record, or None where the line holds none (a blank line)."""
        return fields or None

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(first line number, fields) of each record; a quoted value may span lines."""
        encoding = "utf-8-sig" if self.encoding == "utf-8" else self.encoding
        with self.path.open(encoding=encoding, newline="") as fh:
            reader = csv.reader(nfc_lines(fh), delimiter=self.delimiter)
            line = 0
            for fields in reader:
                start, line = line + 1, reader.line_num
                yield start, fields

    def fast_tables(self, skip: int, chunk_size: int) -> Iterator[tuple[list[str], "object"]]:
        """(header, Arrow table of ``chunk_size`` records) after ``skip`` records, for UTF-8 files.

        Arrow's CSV reader is several times faster than splitting lines in Python, but it can't
        say which line a record came from. So it is trusted only while every line is a record of
        the header's width (a blank line, a short or long line, a value with a line break in it
        all make an invalid row); at the first irregular line it raises :class:`Irregular` before
        handing over that chunk, and the exact reader carries on from there, so positions are
        exact lines on either path.
        """
        import pyarrow as pa
        import pyarrow.csv as pacsv

        with self.path.open(encoding="utf-8-sig", newline="") as fh:
            first = next(csv.reader(fh, delimiter=self.delimiter), [])
        header = self.header(first)
        if not any(header) or len(set(header)) != len(header):
            raise Irregular(skip)  # the exact reader says what is wrong with the header
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
        pending = None  # rows read but not yet handed over
        for chunk in reader:
            if irregular:
                raise Irregular()
            table = pa.Table.from_batches([chunk])
            pending = table if pending is None else pa.concat_tables([pending, table])
            while pending.num_rows >= chunk_size:
                yield header, pending.slice(0, chunk_size)
                pending = pending.slice(chunk_size)
        if irregular:
            raise Irregular()
        if pending is not None and pending.num_rows:
            yield header, pending
