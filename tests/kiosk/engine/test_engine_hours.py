"""Opening hours, holidays, extended hours and the issuing cut-off."""

from __future__ import annotations

from datetime import datetime

import pytest

from kiosk.engine.errors import EngineError


@pytest.mark.parametrize(
    ("when", "allowed", "code"),
    [
        (datetime(2026, 11, 23, 8, 59), False, "outside_hours"),
        (datetime(2026, 11, 23, 9, 0), True, None),
        (datetime(2026, 11, 23, 11, 59), True, None),  # before lunch: still issuing
        (datetime(2026, 11, 23, 12, 30), False, "outside_hours"),  # lunch break
        (datetime(2026, 11, 23, 16, 44), True, None),
        (datetime(2026, 11, 23, 16, 45), False, "closing_soon"),  # 15 min before close
        (datetime(2026, 11, 23, 17, 30), False, "outside_hours"),
        (datetime(2026, 11, 22, 10, 0), False, "outside_hours"),  # Sunday
        (datetime(2026, 10, 1, 10, 0), False, "holiday"),  # National Day
        (datetime(2026, 10, 10, 10, 0), True, None),  # Saturday made a workday (调休)
    ],
)
def test_issue_only_in_hours(make_engine, clock, when, allowed, code):
    e = make_engine()
    clock.set(when.replace(tzinfo=clock.now().tzinfo))
    if allowed:
        assert e.issue(queue_id="A").ticket.status == "waiting"
    else:
        with pytest.raises(EngineError) as err:
            e.issue(queue_id="A")
        assert err.value.code == code
        assert err.value.data.get("next_open")


def test_extended_hours_allow_evening_issuing(small_hall, make_engine, clock):
    data = small_hall(
        hours={"extended": [{"date": "2026-11-23", "start": "17:00", "end": "19:00"}]}
    )
    e = make_engine(data)
    clock.set(datetime(2026, 11, 23, 18, 0, tzinfo=clock.now().tzinfo))
    assert e.issue(queue_id="A").ticket.code == "A001"
    clock.set(datetime(2026, 11, 23, 18, 50, tzinfo=clock.now().tzinfo))
    with pytest.raises(EngineError) as err:
        e.issue(queue_id="A")
    assert err.value.code == "closing_soon"
