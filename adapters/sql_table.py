"""A department's database (any SQLAlchemy URL): a table or a query, read in chunks.

The rows stream from a server-side cursor (``stream_results`` + ``yield_per``), so a register of
millions of rows is never in memory. Incremental reads are keyset reads, ordered by the
updated-at column and then the increasing key: after a batch the position holds the last row's
(updated, key), and the next read asks for ``updated > :u OR (updated = :u AND key > :k)``,
exact at a boundary of equal timestamps, with nothing read twice. With only an updated-at
column the predicate is ``updated >= :u`` (rows sharing the last timestamp are read again and
merge as unchanged); with only a key, ``key > :k``; with neither, every run reads everything.

Every predicate is a SQLAlchemy construct with bound parameters; a configured ``query`` is
wrapped as a subquery. Values are compared as the driver returns them (no type reflection),
so the watermark holds exactly what the department's database holds (SQLite's text
timestamps stay text; PostgreSQL's ``timestamptz`` round-trips as a datetime).
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import and_, column, create_engine, literal_column, or_, select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from adapters import Adapter, Batch, SourceError, register
from adapters.credentials import CredentialError, airflow_connection, env, scrub
from adapters.text import as_text

DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}


def _encode(value: Any) -> Any:
    """A watermark value as JSON that decodes back to the same Python type (audit.watermark is JSONB)."""
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        (kind, v), = value.items()
        return {"datetime": datetime.fromisoformat, "date": date.fromisoformat, "decimal": Decimal}[kind](v)
    return value


@register
class SqlTable(Adapter):
    kind = "sql"

    def __init__(self, source_name: str, options):
        super().__init__(source_name, options)
        o = self.options
        self.table, self.query, self.schema = o.table, o.query, o.schema
        self.key, self.updated = o.key, o.updated_column
        self.chunk_size = o.chunk_size
        self.tz = ZoneInfo(o.timezone)
        self.name = self.table or "query"
        self._secrets: list[str] = []

    def _url(self):
        o = self.options
        try:
            if o.url:
                url = make_url(o.url)
                if url.password:  # sources.yaml holds no secret: the REST adapter refuses the same
                    raise self.fail("options.url carries a password: name it in url_env or an Airflow "
                                    "connection instead")
            elif o.url_env:
                url = make_url(env(o.url_env, "database URL"))
            elif o.connection:
                c = airflow_connection(o.connection)
                url = make_url(f"{c['conn_type'] or 'postgresql'}://").set(
                    username=c["login"], password=c["password"], host=c["host"], port=c["port"], database=c["schema"])
            else:
                raise CredentialError("a sql source needs options.url, url_env or connection")
        except CredentialError as exc:
            raise self.fail(str(exc)) from None
        except SourceError:
            raise
        except Exception as exc:  # sqlalchemy.exc.ArgumentError quotes the URL: say less
            raise self.fail(f"the database URL can't be parsed ({type(exc).__name__})") from None
        if url.password:
            self._secrets.append(str(url.password))
        return url.set(drivername=DRIVERS.get(url.drivername, url.drivername))

    def describe(self) -> dict[str, Any]:
        url = self._url()
        shown = url.set(query={}).render_as_string(hide_password=True)
        return {"file": f"{shown}#{self.name}", "sha256": None}

    def _statement(self, resume_from: dict[str, Any] | None):
        names = [c for c in (self.updated, self.key) if c]
        if self.table:
            source = table(self.table, *(column(c) for c in names), schema=self.schema)
        else:
            source = text(self.query).columns(*(column(c) for c in names)).subquery("department_query")
        stmt = select(literal_column("*")).select_from(source)
        u = source.c[self.updated] if self.updated else None
        k = source.c[self.key] if self.key else None
        if resume_from:
            wu, wk = _decode(resume_from.get("updated")), _decode(resume_from.get("key"))
            if u is not None and k is not None:
                stmt = stmt.where(or_(u > wu, and_(u == wu, k > wk)))
            elif u is not None:
                stmt = stmt.where(u >= wu)
            elif k is not None:
                stmt = stmt.where(k > wk)
        return stmt.order_by(*(c for c in (u, k) if c is not None))

    def batches(self, resume_from: dict[str, Any] | None = None) -> Iterator[Batch]:
        origin = self.describe()
        usable = resume_from if resume_from and resume_from.get("source") == self.name else None
        if usable and not (self.key or self.updated):
            usable = None  # nothing to resume by: read it all again (the merge makes that harmless)
        engine = create_engine(self._url(), poolclass=NullPool)
        try:
            with engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=self.chunk_size).execute(
                    self._statement(usable))
                columns = [unicodedata.normalize("NFC", c) for c in result.keys()]
                for rows in result.partitions():
                    raw = [tuple(r) for r in rows]
                    frame = pd.DataFrame([[as_text(v, tz=self.tz) for v in r] for r in raw], columns=columns, dtype=object)
                    last = dict(zip(columns, raw[-1]))
                    by = self.key or self.updated
                    positions = ([f"{self.name}:{by}={v}" for v in frame[by]] if by
                                 else [f"{self.name}:row {i}" for i in range(len(frame))])
                    position = {"source": self.name,
                                "updated": _encode(last.get(self.updated)) if self.updated else None,
                                "key": _encode(last.get(self.key)) if self.key else None}
                    yield Batch(records=frame, positions=positions, position=position, origin=origin)
        except SourceError:
            raise
        except Exception as exc:  # the driver's words may quote the URL: scrubbed, first line only
            first = scrub(str(exc).splitlines()[0] if str(exc) else "", self._secrets)[:300]
            raise self.fail(f"reading {origin['file']} failed: {type(exc).__name__}: {first}") from None
        finally:
            engine.dispose()
