"""How a REST source asks for the next page: one small class per style, picked by ``pagination.style``.

Each paginator takes its options (``adapter_options/rest.py``) and answers two questions: what
to add to the request for the page at ``at``, and where the next page is, given this one's answer
(None: this was the last). ``at`` is what the watermark keeps between runs (a page number, an
offset, a cursor), so a run broken off resumes at the page it had not committed.
"""
from __future__ import annotations

from typing import Any, ClassVar

from adapter_options.rest import (CursorPagination, OffsetPagination, PageNumberPagination, Pagination,
                                  SinglePage)


def dig(body: Any, path: str | None) -> Any:
    """The value at a dotted path in a JSON answer, or None."""
    for part in (path.split(".") if path else []):
        body = body.get(part) if isinstance(body, dict) else None
    return body


class Paginator:
    options_class: ClassVar[type[Pagination]]

    def __init__(self, options: Pagination):
        self.o = options

    def params(self, at: Any) -> dict[str, Any]:
        """The query parameters that ask for the page at ``at`` (None: the first page)."""
        return {}

    def following(self, at: Any, items: list, body: Any) -> Any:
        """Where the page after this one is, or None if this was the last."""
        return None


class PageNumber(Paginator):
    options_class = PageNumberPagination

    def params(self, at):
        return {self.o.page_param: at or self.o.first_page, self.o.size_param: self.o.size}

    def following(self, at, items, body):
        return (at or self.o.first_page) + 1 if len(items) >= self.o.size else None


class Offset(Paginator):
    options_class = OffsetPagination

    def params(self, at):
        return {self.o.offset_param: at or 0, self.o.limit_param: self.o.size}

    def following(self, at, items, body):
        return (at or 0) + len(items) if len(items) >= self.o.size else None


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


def paginator(options: Pagination) -> Paginator:
    return PAGINATORS[type(options)](options)
