"""CSV, for ``adapters/file_export.py``: the stdlib reader for every record, Arrow while it can.

The stdlib ``csv`` reader (C code) splits records rather than ``pandas.read_csv``: pandas pads
a short line with empty values without a word and cannot hand back the text of a bad line, and
a record with the wrong number of fields must reach quarantine with its reason, not vanish or
shift columns. Every line is NFC before it is split, so cp1258's combining marks never reach
the schema, nor the quarantine's raw records.

A value longer than :data:`MAX_FIELD` characters is not a value but a broken file (an unclosed
quote running on, a binary blob): its record is quarantined with the lines it covers, its first
characters, length and sha256, and the next line is read as the next record. Arrow's reader fails
a whole file on a record longer than its block ("straddles two block boundaries"), so that too
hands over to the exact reader, which quarantines the one record.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

BLOCK = 1 << 20
MAX_FIELD = 1 << 20
"""Characters in one value, at most; the stdlib reader's own limit (128 KiB by default) failed the file."""
HEAD = 200
csv.field_size_limit(MAX_FIELD)


class Unsplit(NamedTuple):
    """A record the reader could not split into fields: quarantined whole with ``reason``."""
    raw: dict
    reason: str
    check: str


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
        """The fields of one record, or None where the line holds none (blank, or only spaces and
        delimiters: no value to load or to quarantine)."""
        return fields if any(f.strip() for f in fields) else None

    def misshapen(self, number: int, fields: list, width: int) -> str:
        """Why a record of the wrong width is quarantined; one spanning lines says which, since an
        unclosed quote swallows the lines after it into one record."""
        end = self.last_line
        if end > number:
            return (f"lines {number}-{end} are one record of {len(fields)} fields where the header has {width}: "
                    f"a quoted value opened on line {number} runs to line {end} (an unclosed quote?), "
                    f"swallowing {end - number} lines")
        return f"line {number} has {len(fields)} fields where the header has {width}"

    def rows(self) -> Iterator[tuple[int, list[str] | Unsplit]]:
        """(first line number, fields) of each record; a quoted value may span lines. A record with
        a value over :data:`MAX_FIELD` comes as :class:`Unsplit`, and reading goes on at the next line."""
        encoding = "utf-8-sig" if self.encoding == "utf-8" else self.encoding
        with self.path.open(encoding=encoding, newline="") as fh:
            taken: list[str] = []  # the text of the record being split, for an Unsplit's raw record

            def tee(lines: Iterable[str]) -> Iterator[str]:
                for text in lines:
                    taken.append(text)
                    yield text

            reader = csv.reader(tee(nfc_lines(fh)), delimiter=self.delimiter)
            line = self.last_line = 0
            while True:
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    fields = self._unsplit(line + 1, reader.line_num, "".join(taken), str(exc))
                start, line = line + 1, reader.line_num
                self.last_line = line
                taken.clear()
                yield start, fields

    def _unsplit(self, start: int, end: int, text: str, problem: str) -> Unsplit:
        lines = f"line {start}" if end == start else f"lines {start}-{end}"
        raw = {"lines": lines, "chars_read": len(text), "head": text[:HEAD],
               "sha256": hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()}
        if "field limit" in problem:
            reason = (f"{lines}: a value longer than {MAX_FIELD} characters; the record is quarantined whole"
                      + (" (an unclosed quote?)" if end > start else ""))
            return Unsplit(raw, reason, "field_size")
        return Unsplit(raw, f"{lines}: the record can't be split ({problem})", "field_count")

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
        try:
            for chunk in reader:
                if irregular or _blank_rows(chunk):
                    raise Irregular()
                table = pa.Table.from_batches([chunk])
                pending = table if pending is None else pa.concat_tables([pending, table])
                while pending.num_rows >= chunk_size:
                    yield header, pending.slice(0, chunk_size)
                    pending = pending.slice(chunk_size)
        except pa.ArrowInvalid:  # a record longer than a block, ...: the exact reader says which
            raise Irregular() from None
        if irregular:
            raise Irregular()
        if pending is not None and pending.num_rows:
            yield header, pending


def _blank_rows(chunk) -> bool:
    """Whether a row holds only empty values: the exact reader skips it, as it skips a blank line."""
    import pyarrow.compute as pc

    if not chunk.num_columns:
        return False
    blank = pc.equal(pc.utf8_trim_whitespace(chunk.column(0)), "")
    if not pc.any(blank).as_py():  # the usual case, at the cost of one column
        return False
    for column in chunk.columns[1:]:
        blank = pc.and_(blank, pc.equal(pc.utf8_trim_whitespace(column), ""))
    return bool(pc.any(blank).as_py())

