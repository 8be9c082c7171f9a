"""Working days: the deadline a data owner has to answer a request (Decree 194/2025/NĐ-CP: grant
or refuse in writing within 2 working days).

Saturdays, Sundays and the days of the holidays file are not working days. The day a request
arrives does not count: a request made on Friday before a holiday Monday is due on Wednesday.
"""
from __future__ import annotations

import os
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import yaml

from common.errors import HubError

ANSWER_WITHIN = 2
HOLIDAYS = Path(__file__).with_name("holidays.yaml")


class HolidaysError(HubError, ValueError):
    """The holidays file is missing or lists something that is not a date."""


def holidays_path() -> Path:
    return Path(os.environ.get("HUB_HOLIDAYS", HOLIDAYS))


def load_holidays(path: Path | None = None) -> frozenset[date]:
    path = Path(path or holidays_path())
    if not path.is_file():
        raise HolidaysError(f"holidays file not found: {path}")
    return _read(path, path.stat().st_mtime_ns)


@cache
def _read(path: Path, _mtime: int) -> frozenset[date]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    days = data.get("holidays") if isinstance(data, dict) else None
    if not isinstance(days, list) or not all(isinstance(d, date) for d in days):
        raise HolidaysError(f"{path.name}: 'holidays' must be a list of dates (YYYY-MM-DD)")
    return frozenset(days)


def is_working_day(day: date, holidays: frozenset[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_working_days(start: date, n: int, holidays: frozenset[date]) -> date:
    """The n-th working day after ``start`` (``start`` itself never counts)."""
    day = start
    while n > 0:
        day += timedelta(days=1)
        n -= is_working_day(day, holidays)
    return day


def due_on(requested: date, holidays: frozenset[date] | None = None) -> date:
    return add_working_days(requested, ANSWER_WITHIN, load_holidays() if holidays is None else holidays)
