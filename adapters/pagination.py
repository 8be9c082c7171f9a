"""How a REST source asks for the next page: one small class per style, picked by ``pagination.style``.

Each paginator takes its options (``adapter_options/rest.py``) and answers three questions: what
to add to the request for the page at ``at``, which of the answer's records are new (:meth:`fresh`),
and where the next page is (None: this was the last). ``at`` is what the watermark keeps between
runs (a page number, an offset, a cursor), so a run broken off resumes at the page it had not
committed.

Only an empty page, a missing next cursor, or the total the server announced ends a read, never a
short page: a server that caps the page size below the size asked for (the cap is rarely
documented) answers short pages all along, and a read that stopped at the first of them left the
watermark past the pages it never asked for.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, ClassVar

from adapter_options.rest import (CursorPagination, OffsetPagination, PageNumberPagination, Pagination,
                                  SinglePage)


def dig(body: Any, path: str | None) -> Any:
    """The value at a dotted path in a JSON answer, or None."""
    for part in (path.split(".") if path else []):
        body = body.get(part) if isinstance(body, dict) else None
    return body


class Shifted(Exception):
    """The records moved under the offsets between two pages (an update, a delete, a backdated
    insert): a record would be skipped or read twice, so the read starts again."""


def record_identity(key_field: str | None, updated_field: str | None) -> Callable[[dict], list]:
    """What tells one record from another in the source's order: (update time, key), or a hash of it."""
    def identity(record: dict) -> list:
        if key_field and key_field in record:
            return [str(record.get(updated_field)) if updated_field else None, str(record[key_field])]
        return [hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()]
    return identity


class Paginator:
    options_class: ClassVar[type[Pagination]]

    def __init__(self, options: Pagination, identity: Callable[[dict], list] | None = None):
        self.o = options
        self.identity = identity or record_identity(None, None)
        self.last: list | None = None
        """The identity of the last record handed on, which the watermark keeps (see :class:`Offset`)."""

    def params(self, at: Any) -> dict[str, Any]:
        """The query parameters that ask for the page at ``at`` (None: the first page)."""
        return {}

    def fresh(self, at: Any, items: list) -> list:
        """The page's records not handed on before; raises :class:`Shifted` if the page proves a shift."""
        return items

    def following(self, at: Any, items: list, body: Any) -> Any:
        """Where the page after this one is, or None if this was the last."""
        return None

    def _total_reached(self, read: int, body: Any) -> bool:
        total = dig(body, getattr(self.o, "total_field", None))
        return isinstance(total, int) and not isinstance(total, bool) and read >= total


class PageNumber(Paginator):
    options_class = PageNumberPagination

    def __init__(self, options, identity=None):
        super().__init__(options, identity)
        self.served = 0  # the largest page seen: the server's real page size if it capped ours

    def params(self, at):
        return {self.o.page_param: at or self.o.first_page, self.o.size_param: self.o.size}

    def following(self, at, items, body):
        if not items:
            return None
        page = at or self.o.first_page
        self.served = max(self.served, len(items))
        if self._total_reached((page - self.o.first_page) * self.served + len(items), body):
            return None
        return page + 1


class Offset(Paginator):
    """Offsets count records in the server's order, so they shift when that order changes during the
    read. Each page after the first is asked from one record early: its first record must be the last
    one already read, else (it repeats an earlier one, or skips) :class:`Shifted` is raised."""
    options_class = OffsetPagination

    def params(self, at):
        offset = at or 0
        if offset and self.last is not None:
            offset -= 1
        return {self.o.offset_param: offset, self.o.limit_param: self.o.size}

    def fresh(self, at, items):
        if at and self.last is not None:
            first = self.identity(items[0]) if items else None
            if first != self.last:
                raise Shifted(f"the record at offset {at - 1} was {self.last}, now "
                              f"{first if first is not None else 'none'}")
            items = items[1:]
        if items:
            self.last = self.identity(items[-1])
        return items

    def following(self, at, items, body):
        if not items:
            return None
        after = (at or 0) + len(items)
        return None if self._total_reached(after, body) else after


class Cursor(Paginator):
    options_class = CursorPagination

    def params(self, at):
        return {self.o.limit_param: self.o.size, **({self.o.cursor_param: at} if at else {})}

    def following(self, at, items, body):
        return dig(body, self.o.next_cursor_field) or None


class Single(Paginator):
    options_class = SinglePage


PAGINATORS: dict[type[Pagination], type[Paginator]] = {
    p.options_class: p for p in (PageNumber, Offset, Cursor, Single)}


def paginator(options: Pagination, identity: Callable[[dict], list] | None = None) -> Paginator:
    return PAGINATORS[type(options)](options, identity)
