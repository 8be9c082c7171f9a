"""A failure is named after the stage it happened in, so one line says where things went wrong."""
from __future__ import annotations

from collections.abc import Callable

from adapters import SourceError
from common.errors import HubError
from warehouse.connect import WarehouseUnavailable


class StageError(HubError, RuntimeError):
    def __init__(self, source: str, stage: str, cause: BaseException, batch_id: int | None = None):
        self.source, self.stage, self.batch_id = source, stage, batch_id
        if isinstance(cause, SourceError):
            detail = cause.problem
        elif isinstance(cause, WarehouseUnavailable):  # nothing of this batch was kept: say which it was
            stage = f"{stage}, batch {batch_id}" if batch_id else stage
            detail = str(cause)
        elif isinstance(cause, ValueError):
            detail = str(cause)
        else:
            detail = f"{type(cause).__name__}: {cause}"
        super().__init__(f"source {source!r}, {stage}: {detail}")


def stage(source_name: str, name: str, at_batch: int | None, fn: Callable, /, *args, **kwargs):
    """Call one stage; any failure comes out as a :class:`StageError` naming it."""
    try:
        return fn(*args, **kwargs)
    except StageError:
        raise
    except Exception as exc:
        raise StageError(source_name, name, exc, at_batch) from exc
