"""``adapter: sql``: a table or a query in a department's database."""
from __future__ import annotations

from dataclasses import dataclass

from adapter_options import OptionError, Options, register
from common.vietnam import TIMEZONE


@register
@dataclass(frozen=True, kw_only=True)
class SqlOptions(Options):
    kind = "sql"

    url: str | None = None
    """A SQLAlchemy URL without a password (sources.yaml holds no secret)."""
    url_env: str | None = None
    """The environment variable holding the URL."""
    connection: str | None = None
    """An Airflow connection id."""
    table: str | None = None
    query: str | None = None
    schema: str | None = None
    key: str | None = None
    """An increasing key: resume after the last one read."""
    updated_column: str | None = None
    """The row's update time: with ``key``, an exact keyset watermark."""
    chunk_size: int = 10_000
    timezone: str = TIMEZONE

    def check(self, where: str) -> None:
        if bool(self.table) == bool(self.query):
            raise OptionError(f"a sql source names either {where}.table or {where}.query")
