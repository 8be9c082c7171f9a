"""Working days and hours: weekends, public holidays and a make-up Saturday (refdata/holidays.yaml)."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from refdata.working_days import calendar, load_calendar


@pytest.mark.parametrize("start,n,expected", [
    (date(2025, 8, 29), 1, date(2025, 9, 3)),   # Friday + 1: the weekend, then 1-2/9 (Quốc khánh)
    (date(2025, 8, 29), 2, date(2025, 9, 4)),
    (date(2025, 6, 27), 2, date(2025, 7, 1)),   # Friday + 2 across a plain weekend
    (date(2025, 8, 30), 0, date(2025, 9, 3)),   # a Saturday: the next working day
    (date(2025, 4, 25), 1, date(2025, 4, 26)),  # a make-up Saturday (làm bù for 2/5) is a working day
    (date(2025, 1, 24), 1, date(2025, 2, 3)),   # Tết Nguyên đán 27-31/1
])
def test_adding_working_days(start, n, expected):
    assert calendar().add_working_days(start, n) == expected


def test_working_days_between_skip_the_weekend_and_the_holiday():
    cal = calendar()
    assert cal.working_days_between(date(2025, 8, 29), date(2025, 9, 4)) == 2
    assert cal.working_days_between(date(2025, 8, 29), date(2025, 8, 29)) == 0
    assert not cal.is_working_day(date(2025, 9, 2)) and not cal.is_working_day(date(2025, 8, 31))


def test_working_hours_count_office_hours_of_working_days_only():
    cal = calendar()
    # Friday 16:00 -> Wednesday 9:30 over a weekend and two holidays: 1 h + 1.5 h
    assert cal.working_hours_between(datetime(2025, 8, 29, 16, 0), datetime(2025, 9, 3, 9, 30)) == 2.5
    assert cal.working_hours_between(datetime(2025, 6, 2, 11, 0), datetime(2025, 6, 2, 14, 0)) == 2.0  # lunch off
    assert cal.working_hours_between(datetime(2025, 6, 2, 9, 0), datetime(2025, 6, 2, 8, 0)) == 0.0
    assert cal.hours_per_day == 8.0


def test_a_calendar_file_of_ones_own(tmp_path):
    path = tmp_path / "holidays.yaml"
    path.write_text("office_hours: [[\"07:30\", \"11:30\"]]\nholidays: {2025: [2025-06-02]}\n", encoding="utf-8")
    cal = load_calendar(path)
    assert cal.add_working_days(date(2025, 5, 30), 1) == date(2025, 6, 3)
    assert cal.hours_per_day == 4.0
