"""Freshness: each source's last successful load against its schedule in ``sources.yaml``.

A run that found nothing new (``unchanged``) is a successful look at the source. A source is
*overdue* once its next load is late, and *stale* once it is late by more than one interval.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd

from report.figures import plain
from report.sections import Page, register

PRESETS = {"@hourly": timedelta(hours=1), "@daily": timedelta(days=1), "@midnight": timedelta(days=1),
           "@weekly": timedelta(weeks=1), "@monthly": timedelta(days=31), "@quarterly": timedelta(days=92),
           "@yearly": timedelta(days=366), "@annually": timedelta(days=366)}


def interval(schedule: str | None) -> timedelta | None:
    """The time between two runs of a schedule (a preset or a five-field cron), or None."""
    if not schedule:
        return None
    if schedule in PRESETS:
        return PRESETS[schedule]
    fields = schedule.split()
    if len(fields) != 5:
        return None
    minute, hour, dom, month, dow = fields
    if minute.startswith("*/"):
        return timedelta(minutes=int(minute[2:]))
    if hour == "*" or hour.startswith("*/"):
        return timedelta(hours=int(hour[2:]) if hour.startswith("*/") else 1)
    if month != "*":
        return timedelta(days=366 if "," not in month else 92)
    if dom != "*":
        return timedelta(days=31)
    if dow != "*":
        return timedelta(days=7 / len(dow.split(","))) if "-" not in dow else timedelta(days=3)
    return timedelta(days=1)


class Freshness:
    name, title, page = "freshness", "Freshness", "freshness.html"

    def collect(self, fig) -> dict[str, Any]:
        rows = []
        for name in fig.source_names:
            runs = fig.runs_of(name)
            ok = runs[runs.status.isin(["succeeded", "unchanged"])]
            last = ok.ended_at.max() if len(ok) else None
            last = None if last is None or pd.isna(last) else last
            config = fig.sources.get(name)
            schedule = config.schedule if config else None
            every = interval(schedule)
            row = {"source": name, "schedule": schedule, "interval_hours": every and every.total_seconds() / 3600,
                   "last_success": last, "last_run": runs.started_at.max() if len(runs) else None,
                   "due_at": None, "overdue_hours": None, "state": "unscheduled"}
            if every is not None:
                if last is None:
                    row["state"] = "stale"
                else:
                    due = last + every
                    late = fig.now - due
                    row.update(due_at=due, overdue_hours=round(max(late.total_seconds(), 0) / 3600, 1),
                               state="stale" if late > every else "overdue" if late > timedelta(0) else "fresh")
            rows.append(row)
        order = {"stale": 0, "overdue": 1, "fresh": 2, "unscheduled": 3}
        rows.sort(key=lambda r: (order[r["state"]], -(r["overdue_hours"] or 0), r["source"]))
        return plain({"sources": rows, "stale": [r["source"] for r in rows if r["state"] == "stale"]})

    def pages(self, data, fig):
        yield Page(self.page, "freshness.html", {"data": data}, self.title)


register(Freshness())
