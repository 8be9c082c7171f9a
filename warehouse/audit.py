"""The audit trail: one ``audit.batch`` row per batch attempt, and each source's watermark.

A batch's row is opened in its own transaction (so a failure still leaves a trace), closed
in the same transaction as the batch's data (so the counts and the data commit together),
and marked failed in a transaction of its own if the batch rolls back.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from warehouse.tables import batch, validation_result, watermark

COUNTS = ("read", "inserted", "updated", "unchanged", "quarantined")


def open_batch(engine: Engine, **fields: Any) -> int:
    with engine.begin() as conn:
        return conn.execute(insert(batch).values(status="running", **fields).returning(batch.c.batch_id)).scalar_one()


def close_batch(conn: Connection, batch_id: int, *, status: str, counts: dict[str, int], **fields: Any) -> None:
    values = {f"rows_{k}": counts.get(k, 0) for k in COUNTS}
    conn.execute(update(batch).where(batch.c.batch_id == batch_id)
                 .values(status=status, ended_at=func.now(), **values, **fields))


def fail_batch(engine: Engine, batch_id: int, error: str, rows_read: int = 0) -> None:
    with engine.begin() as conn:
        conn.execute(update(batch).where(batch.c.batch_id == batch_id).values(
            status="failed", ended_at=func.now(), error=error[:4000], rows_read=rows_read,
            rows_inserted=0, rows_updated=0, rows_unchanged=0, rows_quarantined=0))


def same_read(conn: Connection, *, source: str, run_id: str, file: str | None, sha256: str | None) -> list[int]:
    """The batches whose rows a key repeated in this batch would repeat: this run's, and those that
    read the same file with the same content (a run resumed, or the file read again in full)."""
    read = batch.c.run_id == run_id
    if file and sha256:
        read = or_(read, and_(batch.c.file == file, batch.c.file_sha256 == sha256))
    return list(conn.execute(select(batch.c.batch_id).where(batch.c.source == source, read,
                                                            batch.c.status.in_(["succeeded", "held"]))).scalars())


def get_watermark(engine: Engine, source: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        return conn.execute(select(watermark.c.position).where(watermark.c.source == source)).scalar()


def set_watermark(conn: Connection, source: str, position: dict[str, Any], batch_id: int) -> None:
    stmt = pg_insert(watermark).values(source=source, position=position, batch_id=batch_id)
    conn.execute(stmt.on_conflict_do_update(index_elements=["source"], set_={
        "position": stmt.excluded.position, "batch_id": stmt.excluded.batch_id, "updated_at": func.now()}))


def recent_batches(engine: Engine, *, source: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    query = select(batch).order_by(batch.c.batch_id.desc()).limit(limit)
    if source:
        query = query.where(batch.c.source == source)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def validations_kept() -> int:
    """How many validation results to keep per source for Data Docs (``HUB_VALIDATIONS_KEPT``)."""
    import os

    return max(1, int(os.environ.get("HUB_VALIDATIONS_KEPT", "30")))


def keep_validation(conn: Connection, batch_id: int, *, source: str, suite: str, result: dict,
                    keep: int | None = None) -> None:
    """Keep a batch's Great Expectations result; the source's older ones beyond ``keep`` go."""
    conn.execute(insert(validation_result).values(batch_id=batch_id, source=source, suite=suite,
                                                  success=bool(result.get("success")), result=result))
    newest = select(validation_result.c.batch_id).where(validation_result.c.source == source) \
        .order_by(validation_result.c.batch_id.desc()).limit(keep or validations_kept())
    conn.execute(delete(validation_result).where(validation_result.c.source == source,
                                                 validation_result.c.batch_id.not_in(newest.scalar_subquery())))
