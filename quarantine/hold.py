"""When a batch is held whole instead of itemised.

If one check fails for most of a batch, the source has changed (a renamed column, a new date
format), not its records: listing every row would bury the one cause under thousands of copies,
and Great Expectations' COMPLETE format costs time per failing row. The same rule serves the
mapping's failures and the suite's.
"""
from __future__ import annotations

from collections.abc import Sequence

from schemas.mapping import CheckFailure

HOLD_MIN_ROWS = 20
"""Below this many rows a batch is itemised whatever fails: too few to call a source broken."""


def hold_reason(failures: Sequence[CheckFailure], rows: int, *, max_failure_ratio: float,
                min_rows: int = HOLD_MIN_ROWS) -> str | None:
    """The one reason a batch of ``rows`` is held for, or None when it is itemised."""
    worst = max(failures, key=lambda f: f.rows.size, default=None)
    if worst is None or rows < min_rows or worst.rows.size / rows <= max_failure_ratio:
        return None
    example = worst.reason(worst.rows[:1])[0] if worst.rows.size else "no example"
    return (f"batch held whole: check {worst.check} failed for {100 * worst.rows.size / rows:.0f}% of rows "
            f"(e.g. {example}); the source looks broken (changed columns or formats?)")
