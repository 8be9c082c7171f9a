"""``adapter: rest``: a department's JSON API, page by page.

Pagination styles are a family: ``style`` picks the variant, and each variant accepts its own
keys only (a cursor has no ``page_param``). The behaviour of each is in ``adapters/pagination.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from adapter_options import Family, OptionError, Options, register


@dataclass(frozen=True, kw_only=True)
class Pagination(Family):
    variants: ClassVar[dict[str, type[Options]]] = {}
    default = "page"


@Pagination.member
@dataclass(frozen=True, kw_only=True)
class PageNumberPagination(Pagination):
    """``?page=1&size=100``, then 2, 3... until a page comes back empty or ``total_field`` is reached
    (a short page is not the end: servers cap the size asked for)."""
    style: Literal["page"] = "page"
    page_param: str = "page"
    size_param: str = "size"
    size: int = 100
    first_page: int = 1
    total_field: str | None = "total"
    """Where the answer says how many records the whole read has (a dotted path); none: read to an empty page."""


@Pagination.member
@dataclass(frozen=True, kw_only=True)
class OffsetPagination(Pagination):
    """``?offset=0&limit=100``, then 100, 200... until a page comes back empty or ``total_field`` is
    reached. Each page after the first starts one record early, at the last record already read: if it
    is not that record, the data shifted under the offsets and the read starts again from the watermark."""
    style: Literal["offset"] = "offset"
    offset_param: str = "offset"
    limit_param: str = "limit"
    size: int = 100
    total_field: str | None = "total"
    max_restarts: int = 3
    """How many times a read whose offsets shifted starts again before the run fails."""


@Pagination.member
@dataclass(frozen=True, kw_only=True)
class CursorPagination(Pagination):
    """``?limit=100``, then ``&cursor=`` what the answer's ``next_cursor_field`` says, until it is empty."""
    style: Literal["cursor"] = "cursor"
    cursor_param: str = "cursor"
    limit_param: str = "limit"
    next_cursor_field: str = "next_cursor"
    size: int = 100


@Pagination.member
@dataclass(frozen=True, kw_only=True)
class SinglePage(Pagination):
    """One request answers everything."""
    style: Literal["none"] = "none"


@dataclass(frozen=True, kw_only=True)
class Auth(Options):
    """Where the credential lives: never in sources.yaml, only the name of its variable or connection."""
    type: Literal["bearer", "basic", "api_key"] | None = None
    """Default: bearer when anything else here (or ``options.connection``) is set."""
    env: str | None = None
    """The variable holding the bearer token, ``user:password`` for basic, or the API key."""
    header: str | None = None
    """api_key: the header the key is sent in, as it is (default ``X-API-Key``)."""
    token_url: str | None = None
    """OAuth2 client credentials: POST here for a token (relative to ``base_url`` or absolute)."""
    connection: str | None = None
    token_env: str | None = None
    username_env: str | None = None
    password_env: str | None = None
    client_id_env: str | None = None
    client_secret_env: str | None = None


@dataclass(frozen=True, kw_only=True)
class Timeout(Options):
    connect: float = 5
    read: float = 30


@register
@dataclass(frozen=True, kw_only=True)
class RestOptions(Options):
    kind = "rest"

    base_url: str = ""
    """Plain: credentials go in ``auth``, never in a URL. Left out, the host of ``connection``: where a
    server is may change per deployment (or per run, as the demo's one-stop system does)."""
    endpoint: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    """Sent with every request."""
    items_field: str | None = "items"
    """Where a page's list is in the answer (a dotted path); empty: the answer is the list."""
    pagination: Pagination = field(default_factory=PageNumberPagination)
    updated_since_param: str | None = None
    updated_field: str | None = None
    key_field: str | None = None
    timeout: Timeout = field(default_factory=Timeout)
    retries: int = 3
    backoff: float = 0.5
    auth: Auth = field(default_factory=Auth)
    connection: str | None = None
    """An Airflow connection holding the credential (as ``auth.connection``), and the address when
    ``base_url`` is left out."""

    def check(self, where: str) -> None:
        if not self.base_url and not self.connection:
            raise OptionError(f"{where}.base_url is required", where)
