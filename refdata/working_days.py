"""Working days and working hours (ngày làm việc, giờ hành chính) of the province's state offices.

One calendar for every deadline the hub computes: a data owner's answer to a sharing request
(Decree 194/2025: within 2 working days), a one-stop dossier's "about to be late" window, a
document's processing time. Weekends and the public holidays of ``refdata/holidays.yaml`` are
not working days; a make-up Saturday listed there is. Reusable as it is::

    from refdata.working_days import calendar
    cal = calendar()
    cal.add_working_days(date(2025, 8, 29), 2)     # 2025-09-04: skips the weekend and 1-2/9
    cal.working_days_between(start, end)
    cal.working_hours_between(t0, t1)              # office hours only, as timestamps in local time
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import yaml

from common.vietnam import VIETNAM as TZ

HOLIDAYS = Path(__file__).with_name("holidays.yaml")


def _days(entry) -> list[date]:
    if isinstance(entry, list):
        first, last = entry
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [entry]


class WorkingCalendar:
    """Monday-Friday minus holidays, plus make-up weekends; office hours for hour counts."""

    def __init__(self, holidays: list[date], working_weekends: list[date], office_hours: list[tuple[time, time]]):
        self.holidays = sorted(set(holidays))
        self.working_weekends = sorted(set(working_weekends))
        self.office_hours = office_hours
        self._cal = np.busdaycalendar(weekmask="1111100", holidays=[np.datetime64(d) for d in self.holidays])

    def is_working_day(self, day: date) -> bool:
        return day in self.working_weekends or bool(np.is_busday(np.datetime64(day), busdaycal=self._cal))

    def add_working_days(self, day: date, n: int) -> date:
        """The working day ``n`` working days after ``day`` (``n`` = 0: ``day`` itself, or the next working day)."""
        current = day
        while not self.is_working_day(current):
            current += timedelta(days=1)
        step = 1 if n >= 0 else -1
        for _ in range(abs(n)):
            current += timedelta(days=step)
            while not self.is_working_day(current):
                current += timedelta(days=step)
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: 0 for the same day, 1 from a Friday to the next Monday."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(self.is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1))

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Office hours between two moments (local time if naive), on working days only."""
        if start.tzinfo is not None:
            start = start.astimezone(TZ).replace(tzinfo=None)
        if end.tzinfo is not None:
            end = end.astimezone(TZ).replace(tzinfo=None)
        if end <= start:
            return 0.0
        total = 0.0
        day = start.date()
        while day <= end.date():
            if self.is_working_day(day):
                for opens, closes in self.office_hours:
                    lo = max(start, datetime.combine(day, opens))
                    hi = min(end, datetime.combine(day, closes))
                    if hi > lo:
                        total += (hi - lo).total_seconds() / 3600
            day += timedelta(days=1)
        return total

    @property
    def hours_per_day(self) -> float:
        return sum((datetime.combine(date.min, c) - datetime.combine(date.min, o)).total_seconds()
                   for o, c in self.office_hours) / 3600


def load_calendar(path: Path = HOLIDAYS) -> WorkingCalendar:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    holidays = [d for year in (data.get("holidays") or {}).values() for e in year for d in _days(e)]
    hours = [(time.fromisoformat(a), time.fromisoformat(b)) for a, b in data.get("office_hours", [])]
    return WorkingCalendar(holidays, [d for e in data.get("working_weekends", []) for d in _days(e)], hours)


@cache
def calendar() -> WorkingCalendar:
    """The shipped calendar (``refdata/holidays.yaml``), read once per process."""
    return load_calendar()
