"""Excel xlsx, for ``adapters/file_export.py``: a sheet's rows as the text a CSV export would hold.

A workbook is Unicode, but text typed in a legacy Vietnamese font (TCVN3 "ABC", VNI) arrives as
Latin-1 look-alikes: with ``encoding: tcvn3`` or ``vni`` every text cell is decoded from them,
and a cell that is not such text quarantines the workbook whole, naming the cell.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from adapters.text import as_text

LEGACY_FONT_ENCODINGS = ("tcvn3", "vni")


class XlsxReader:
    unit = "row"

    def __init__(self, path: Path, encoding: str | None, sheet: int | str | None, datetime_format: str,
                 fail):
        self.path, self.encoding, self.sheet, self.datetime_format = path, encoding, sheet, datetime_format
        self.fail = fail
        self.legacy = encoding if encoding in LEGACY_FONT_ENCODINGS else None

    def _open(self):
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

    def facts(self, declared: str) -> dict[str, Any]:
        """Row count for progress, and, for text typed in a legacy font, proof that every cell decodes."""
        book, sheet = self._open()
        try:
            facts: dict[str, Any] = {"lines": sheet.max_row or 0, "sheet": sheet.title, "undecodable": None}
            if self.legacy:
                from openpyxl.utils import get_column_letter

                for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                    for col, value in enumerate(row, start=1):
                        if isinstance(value, str) and not value.isascii():
                            try:
                                value.encode("latin-1").decode(self.legacy)
                            except UnicodeError as exc:
                                bad = value[exc.start]  # latin-1: one byte per character
                                facts["undecodable"] = (
                                    f"{self.path.name}: cell {sheet.title}!{get_column_letter(col)}{number} "
                                    f"holds {bad!r}, which is not {declared} text; "
                                    "declare the workbook's encoding in options.encoding")
                                return facts
            return facts
        finally:
            book.close()

    def header(self, first: list) -> list[str]:
        header = [unicodedata.normalize("NFC", str(c).strip()) if c is not None else "" for c in first]
        while header and not header[-1]:
            header.pop()
        return header

    def record(self, fields: list, width: int) -> list | None:
        """Empty trailing cells are missing values, not a wrong shape; an empty row holds no record."""
        while len(fields) > width and fields[-1] is None:
            fields.pop()
        if all(v is None for v in fields):
            return None
        return fields + [None] * (width - len(fields))

    def misshapen(self, number: int, fields: list, width: int) -> str:
        return f"row {number} has {len(fields)} fields where the header has {width}"

    def rows(self) -> Iterator[tuple[int, list[str | None]]]:
        book, sheet = self._open()
        try:
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, [self._text(v) for v in row]
        finally:
            book.close()

    def _text(self, value: Any) -> str | None:
        if self.legacy and isinstance(value, str) and not value.isascii():
            value = value.encode("latin-1").decode(self.legacy)
        return as_text(value, datetime_format=self.datetime_format)
