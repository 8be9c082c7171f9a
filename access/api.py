"""``hub serve``: the data-sharing API (FastAPI on uvicorn).

FastAPI because it is already installed with Airflow 3 (its API server is FastAPI), so the hub
adds no framework, and it writes ``/openapi.json`` from the same declarations that validate the
parameters (lengths, patterns, ranges), which schemathesis then fuzzes.

The server connects as ``lienthong_admin`` and runs every request in a read-only transaction
with ``SET LOCAL ROLE`` to the caller's department role: the same row-level policies that govern
the department's SQL users decide what the API returns. One enforcement point, not two.
Pages are keyset-paginated on the natural key, so a row present while a client pages through
comes exactly once however many loads commit meanwhile.
"""
import base64
import csv
import io
import json
import math
import threading
import time
from collections import defaultdict, deque
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DataError

from access import log
from access.policies import mart_columns, unit_field
from access.requests import Caller, authenticate
from access.roles import quote, quote_all
from schemas import Schema, all_schemas

API = "/api/v1"
MAX_LIMIT = 5000
SQL_CAST = {"string": "text", "timestamp": "timestamptz", "date": "date", "integer": "bigint",
            "decimal": "numeric", "boolean": "boolean"}
KEY_SEPARATOR = "~"


class RateLimit:
    """At most ``per_minute`` requests per token in any sliding minute."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self.seen: dict[int, deque[float]] = defaultdict(deque)
        self.lock = threading.Lock()

    def retry_after(self, token_id: int) -> int:
        """0 if the request may go on (and counts it), else the seconds to wait."""
        now = time.monotonic()
        with self.lock:
            seen = self.seen[token_id]
            while seen and seen[0] <= now - 60:
                seen.popleft()
            if len(seen) >= self.per_minute:
                return max(1, math.ceil(seen[0] + 60 - now))
            seen.append(now)
            return 0


def _schemas() -> dict[str, Schema]:
    return {s.name: s for s in all_schemas()}


def _key_fields(s: Schema) -> list[tuple[str, str]]:
    """(stored column, SQL type) of the natural key, in order."""
    protected = {f.name for f in s.protected}
    return [(f"{k}_hash", "text") if k in protected else (k, SQL_CAST[s.field(k).type]) for k in s.natural_key]


def _json_value(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else (str(v) if v is not None and not isinstance(
        v, (int, float, bool, str)) else v)


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps([_json_value(v) for v in values]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[str]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        values = None
    if not isinstance(values, list) or len(values) != width or not all(isinstance(v, (str, int, float)) for v in values):
        raise HTTPException(400, "cursor is not one this API issued: pass next_cursor as given")
    return [str(v) for v in values]


def caller(request: Request) -> Caller:
    """The token's caller, or 401; 429 past the token's rate."""
    engine, limits = request.app.state.engine, request.app.state.limits
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    with engine.connect() as conn:
        found = authenticate(conn, token.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        raise HTTPException(401, "missing, unknown, expired or revoked token",
                            headers={"WWW-Authenticate": "Bearer"})
    request.state.actor = found.actor
    wait = limits.retry_after(found.token_id)
    if wait:
        raise HTTPException(429, f"more than {limits.per_minute} requests a minute: retry in {wait} s",
                            headers={"Retry-After": str(wait)})
    return found


Who = Annotated[Caller, Depends(caller)]


def create_app(engine: Engine, *, per_minute: int = 120) -> FastAPI:
    """The API over ``engine`` (a connection as lienthong_admin, or any role that may SET ROLE to
    the departments' roles and write the access log)."""
    app = FastAPI(title="lienthong data-sharing API", version="1",
                  description="The province's shared datasets, each department seeing its own rows. "
                              "Authenticate with `Authorization: Bearer <token>` (hub access approve).")
    app.state.engine, app.state.limits = engine, RateLimit(per_minute)

    @app.middleware("http")
    async def access_log(request: Request, call_next):
        response = await call_next(request)
        state = request.state
        if request.url.path.startswith(API):
            filters = dict(request.query_params)
            if getattr(state, "key", None) is not None:
                filters["key"] = state.key
            await run_in_threadpool(_log_request, engine, state, filters, response.status_code,
                                    f"{request.method} {request.url.path}")
        return response

    def dataset_for(request: Request, name: str, who: Caller) -> Schema:
        request.state.dataset = name[:63]
        schema = _schemas().get(name)
        if schema is None:
            raise HTTPException(404, f"no dataset {name!r}")
        if name not in who.datasets:
            raise HTTPException(403, f"dataset {name!r} is not approved for this token: hub access request")
        return schema

    def as_department(conn: Connection, who: Caller) -> None:
        conn.exec_driver_sql("SET LOCAL TimeZone = 'UTC'")  # one spelling of times, in JSON and CSV
        conn.exec_driver_sql(f"SET LOCAL ROLE {quote(conn, who.role)}")
        conn.exec_driver_sql("SET LOCAL statement_timeout = '60s'")

    @app.get(f"{API}/datasets", summary="The catalogue of shared datasets")
    def datasets(who: Who) -> list[dict]:
        out = []
        with engine.begin() as conn:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            batches = {name: (fresh, owners) for name, fresh, owners in conn.execute(text(
                "SELECT b.schema_name, max(b.ended_at) FILTER (WHERE b.status IN ('succeeded', 'unchanged')) "
                "AS fresh, array_remove(array_agg(DISTINCT s.department), NULL) AS owners FROM audit.batch b "
                "LEFT JOIN access.department_source s ON s.source = b.source GROUP BY b.schema_name"))}
            as_department(conn, who)
            for s in _schemas().values():
                cols = set(mart_columns(s))
                fields = [{"name": c, "type": "string", "description": f"masked form of {f.name}"}
                          for f in s.protected for c in (f"{f.name}_masked", f"{f.name}_hash")]
                fields += [{"name": f.name, "type": f.type, "description": (f.description or "").strip()}
                           for f in s.fields if f.name in cols]
                approved = s.name in who.datasets
                counting = f"SELECT count(*) FROM mart.{quote(conn, s.name)}"  # noqa: S608 - a quoted schema name
                count = conn.execute(text(counting)).scalar() if approved else None
                fresh_at, owners = batches.get(s.name, (None, []))
                out.append({"name": s.name, "title": s.title, "schema_version": s.version, "fields": fields,
                            "owner": sorted(owners),
                            "freshness": fresh_at.isoformat() if fresh_at else None,
                            "approved": approved, "rows_visible": count})
        return out

    @app.get(f"{API}/datasets/{{name}}/records", summary="Rows of a dataset, keyset-paginated",
             responses={200: {"content": {"text/csv": {}}}})
    def records(request: Request, who: Who,
                name: Annotated[str, Path(max_length=63)],
                unit: Annotated[str | None, Query(max_length=8, pattern=r"^[0-9]{2,5}$")] = None,
                updated_since: Annotated[datetime | None, Query()] = None,
                cursor: Annotated[str | None, Query(max_length=2048)] = None,
                limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100) -> Response:
        schema = dataset_for(request, name, who)
        keys = _key_fields(schema)
        cols = mart_columns(schema)
        where, params = [], {"limit": limit + 1}
        with engine.begin() as conn:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            if unit is not None:
                uf = unit_field(schema)
                if uf is None:
                    raise HTTPException(400, f"dataset {name!r} has no administrative unit to filter on")
                where.append(f"{quote(conn, uf.name)} = :unit")
                params["unit"] = unit
            if updated_since is not None:
                where.append("loaded_at >= :since")
                params["since"] = updated_since
            if cursor is not None:
                values = decode_cursor(cursor, len(keys))
                casts = [f"CAST(:c{i} AS {kind})" for i, (_, kind) in enumerate(keys)]
                where.append(f"({quote_all(conn, (k for k, _ in keys))}) > ({', '.join(casts)})")
                params.update({f"c{i}": v for i, v in enumerate(values)})
            as_csv = "text/csv" in request.headers.get("accept", "")
            as_department(conn, who)
            try:
                rows = _page(conn, schema, where, params, as_csv=as_csv)
            except DataError:
                raise HTTPException(400, "cursor is not one this API issued: pass next_cursor as given")
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(list(rows[-1][:len(keys)])) if more and rows else None
        request.state.rows = len(rows)
        if as_csv:
            headers = {"X-Next-Cursor": next_cursor} if next_cursor else {}
            return StreamingResponse(_csv_lines(cols, [r[len(keys):] for r in rows]),
                                     media_type="text/csv; charset=utf-8", headers=headers)
        body = (f'{{"dataset": {json.dumps(name)}, "records": [' + ",".join(r[-1] for r in rows)
                + f'], "next_cursor": {json.dumps(next_cursor)}}}')
        return Response(body, media_type="application/json")

    @app.get(f"{API}/datasets/{{name}}/records/{{key}}", summary="One row by its natural key "
             f"(a composite key's parts joined by {KEY_SEPARATOR})")
    def record(request: Request, who: Who, name: Annotated[str, Path(max_length=63)],
               key: Annotated[str, Path(max_length=1024)]) -> dict:
        schema = dataset_for(request, name, who)
        request.state.key = key[:200]
        keys = _key_fields(schema)
        parts = key.split(KEY_SEPARATOR) if len(keys) > 1 else [key]
        if len(parts) != len(keys):
            raise HTTPException(400, f"key of {name!r} has {len(keys)} parts "
                                     f"({', '.join(k for k, _ in keys)}) joined by {KEY_SEPARATOR}")
        with engine.begin() as conn:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            cond = [f"{quote(conn, k)} = CAST(:k{i} AS {kind})" for i, (k, kind) in enumerate(keys)]
            as_department(conn, who)
            try:
                rows = _page(conn, schema, cond, {f"k{i}": v for i, v in enumerate(parts)} | {"limit": 1})
            except DataError:
                rows = []
        request.state.rows = len(rows)
        if not rows:  # absent and hidden look the same: a policy leaks nothing of other departments
            raise HTTPException(404, f"no {name} record with key {key[:80]!r}")
        return Response(rows[0][-1], media_type="application/json")

    return app


def _page(conn: Connection, schema: Schema, where: list[str], params: dict, *, as_csv: bool = False) -> list:
    """Rows of a mart view in key order: the key's values, then each row as PostgreSQL writes it
    (one JSON text, or each column's text for CSV): the server does the formatting, Python joins."""
    keys = quote_all(conn, (k for k, _ in _key_fields(schema)))
    cols = mart_columns(schema)
    inner = (f"SELECT {quote_all(conn, cols)} FROM mart.{quote(conn, schema.name)}"  # noqa: S608 - identifiers quoted by the server's rules and taken from schema files; values bound
             + (f" WHERE {' AND '.join(where)}" if where else "") + f" ORDER BY {keys} LIMIT :limit")
    shown = ", ".join(f"to_json(t.{quote(conn, c)}) #>> '{{}}'" for c in cols) if as_csv else "row_to_json(t)::text"
    return conn.execute(text(f"SELECT {keys}, {shown} FROM ({inner}) AS t ORDER BY {keys}"), params).all()  # noqa: S608 - identifiers quoted by the server's rules and taken from schema files; values bound


def _csv_lines(header: list[str], rows: list, chunk: int = 500):
    """The page as CSV, sent in pieces of ``chunk`` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for start in range(0, len(rows), chunk):
        writer.writerows(rows[start:start + chunk])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _log_request(engine: Engine, state, filters: dict, status: int, detail: str) -> None:
    with engine.begin() as conn:
        log.record(conn, actor=getattr(state, "actor", "anonymous"), action="api",
                   dataset=getattr(state, "dataset", None), filters=filters,
                   rows=getattr(state, "rows", None), status=str(status), detail=detail)


def serve(engine: Engine, host: str = "127.0.0.1", port: int = 8600, per_minute: int = 120) -> None:
    import uvicorn

    uvicorn.run(create_app(engine, per_minute=per_minute), host=host, port=port, log_level="warning")
