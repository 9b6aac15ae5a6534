"""Working days on the hall calendar (#14): a follow-up's deadline skips weekends and
holidays and counts 调休 days (a weekend day that is worked)."""

from __future__ import annotations

from datetime import date

import pytest

from kiosk.engine.config import Hours
from kiosk.engine.hours import add_working_days, is_working_day, working_days_between

# 2026's National Day: 10-01 .. 10-07 off (Thu .. Wed), Sat 10-10 worked (调休)
NATIONAL_DAY = Hours(
    holidays=frozenset(date(2026, 10, d) for d in range(1, 8)),
    extra_workdays=frozenset({date(2026, 10, 10)}),
)


def test_weekends_are_skipped():
    friday = date(2026, 11, 27)
    assert add_working_days(Hours(), friday, 1) == date(2026, 11, 30)  # Monday
    assert add_working_days(Hours(), friday, 0) == friday
    assert add_working_days(Hours(), date(2026, 11, 23), 15) == date(2026, 12, 14)


def test_holidays_are_skipped_and_the_makeup_saturday_counts():
    sept_30 = date(2026, 9, 30)  # Wednesday, the last day before the holiday
    assert add_working_days(NATIONAL_DAY, sept_30, 1) == date(2026, 10, 8)
    assert add_working_days(NATIONAL_DAY, sept_30, 2) == date(2026, 10, 9)
    assert add_working_days(NATIONAL_DAY, sept_30, 3) == date(2026, 10, 10)  # 调休 Saturday
    assert add_working_days(NATIONAL_DAY, sept_30, 4) == date(2026, 10, 12)
    # without the 调休 day the fourth working day comes a day later
    plain = Hours(holidays=NATIONAL_DAY.holidays)
    assert add_working_days(plain, sept_30, 3) == date(2026, 10, 12)
    assert is_working_day(NATIONAL_DAY, date(2026, 10, 10))
    assert not is_working_day(NATIONAL_DAY, date(2026, 10, 5))  # a Monday off


def test_a_hall_open_on_saturdays():
    six_days = Hours(weekdays=(1, 2, 3, 4, 5, 6))
    assert add_working_days(six_days, date(2026, 11, 27), 1) == date(2026, 11, 28)


@pytest.mark.parametrize("n", [0, 1, 3, 15, 40])
def test_between_counts_what_add_added(n):
    start = date(2026, 9, 28)
    end = add_working_days(NATIONAL_DAY, start, n)
    assert working_days_between(NATIONAL_DAY, start, end) == n
    assert working_days_between(NATIONAL_DAY, end, start) == -n
    assert add_working_days(NATIONAL_DAY, end, -n) == start or n == 0


def test_a_calendar_without_working_days_is_refused():
    with pytest.raises(ValueError):
        add_working_days(Hours(weekdays=()), date(2026, 1, 1), 1)
