"""Opening hours, holidays, extended hours and the issuing cut-off."""

from __future__ import annotations

from datetime import datetime

import pytest

from kiosk.engine.errors import EngineError
from kiosk.engine.hours import issue_window


@pytest.mark.parametrize(
    ("when", "allowed", "code"),
    [
        (datetime(2026, 11, 23, 8, 59), False, "outside_hours"),
        (datetime(2026, 11, 23, 9, 0), True, None),
        (datetime(2026, 11, 23, 11, 59), True, None),  # before lunch: still issuing
        (datetime(2026, 11, 23, 12, 30), True, None),  # lunch: for the afternoon
        (datetime(2026, 11, 23, 16, 44), True, None),
        (datetime(2026, 11, 23, 16, 45), False, "closing_soon"),  # 15 min before close
        (datetime(2026, 11, 23, 17, 0), False, "outside_hours"),  # closed (after_close)
        (datetime(2026, 11, 23, 17, 2), False, "outside_hours"),
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


# ---------------------------------------------------------------- the words at each boundary

MONDAY = (2026, 11, 23)


@pytest.mark.parametrize(
    ("hhmm", "allowed", "reason", "next_open"),
    [
        ("08:59", False, "before_open", "2026-11-23T09:00:00+08:00"),
        ("09:00", True, "", None),
        ("11:59", True, "", None),
        ("12:00", True, "", None),  # the break: issued, called from 13:00
        ("12:59", True, "", None),
        ("13:00", True, "", None),
        ("16:44", True, "", None),
        ("16:45", False, "closing_soon", "2026-11-24T09:00:00+08:00"),
        ("16:59", False, "closing_soon", "2026-11-24T09:00:00+08:00"),
        ("17:00", False, "after_close", "2026-11-24T09:00:00+08:00"),
        ("17:02", False, "after_close", "2026-11-24T09:00:00+08:00"),
        ("23:59", False, "after_close", "2026-11-24T09:00:00+08:00"),
    ],
)
def test_each_boundary_has_its_own_reason(make_engine, clock, hhmm, allowed, reason, next_open):
    """closing_soon only in the cut-off minutes before the last close, after_close from the
    close on (the kiosk's 大厅即将下班 must never follow the close)."""
    e = make_engine()
    h, m = map(int, hhmm.split(":"))
    clock.set(datetime(*MONDAY, h, m, tzinfo=clock.now().tzinfo))
    window = issue_window(e.config.hours, clock.now())
    assert (window.allowed, window.reason) == (allowed, reason)
    if allowed:
        assert e.issue(queue_id="A").ticket.status == "waiting"
        return
    with pytest.raises(EngineError) as err:
        e.issue(queue_id="A")
    assert err.value.data["reason"] == reason
    assert err.value.data["next_open"] == next_open
    assert err.value.code == ("closing_soon" if reason == "closing_soon" else "outside_hours")


def test_a_lunch_ticket_is_issued_for_the_afternoon(make_engine, clock):
    e = make_engine()
    clock.set(datetime(*MONDAY, 12, 30, tzinfo=clock.now().tzinfo))
    first = e.issue(queue_id="A")
    assert first.ticket.code == "A001"
    assert first.calls_from == datetime(*MONDAY, 13, 0, tzinfo=clock.now().tzinfo)
    assert first.est_wait_min == 30  # nobody ahead, but nobody is called for 30 minutes
    clock.set(datetime(*MONDAY, 13, 0, tzinfo=clock.now().tzinfo))
    assert e.issue(queue_id="A").calls_from is None  # calling goes on: no calls_from


def test_lunch_tickets_are_refused_when_the_hall_says_so(small_hall, make_engine, clock):
    e = make_engine(small_hall(hours={"issue_during_break": False}))
    clock.set(datetime(*MONDAY, 12, 30, tzinfo=clock.now().tzinfo))
    with pytest.raises(EngineError) as err:
        e.issue(queue_id="A")
    assert err.value.code == "outside_hours"
    assert err.value.data == {"reason": "lunch_break", "next_open": "2026-11-23T13:00:00+08:00"}


def test_a_break_before_a_session_already_past_the_cut_off_is_closing_soon(
    small_hall, make_engine, clock
):
    """An afternoon shorter than the cut-off: no ticket at lunch for a session that issues none."""
    e = make_engine(
        small_hall(
            hours={
                "sessions": [["09:00", "12:00"], ["13:00", "13:30"]],
                "stop_issuing_before_close_min": 45,
            }
        )
    )
    clock.set(datetime(*MONDAY, 12, 30, tzinfo=clock.now().tzinfo))
    with pytest.raises(EngineError) as err:
        e.issue(queue_id="A")
    assert err.value.code == "closing_soon"
    assert err.value.data["next_open"] == "2026-11-24T09:00:00+08:00"


def test_a_clerk_may_still_call_during_the_break(make_engine, clock):
    """Today's rule, kept: calling is the clerk's decision at any time (someone from the
    morning still waiting, a clerk who works through lunch); a lunch ticket waits like any
    other and its calls_from is the time calling resumes for the hall, not a lock."""
    from clerks import DEMO_PIN

    e = make_engine()
    clock.set(datetime(*MONDAY, 12, 10, tzinfo=clock.now().tzinfo))
    issued = e.issue(queue_id="A")
    e.login("1", "1001", DEMO_PIN)
    called = e.call_next("1")
    assert called.ticket is not None and called.ticket.code == issued.ticket.code
