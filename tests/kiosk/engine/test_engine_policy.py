"""Who is called next: green channel bounded, appointments in their slot, longest waiting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from clerks import TEST_PIN

from kiosk.engine.errors import EngineError


@pytest.fixture
def hall(small_hall, make_engine):
    e = make_engine(small_hall())
    for w, clerk in (("1", "1"), ("2", "2"), ("3", "3")):
        e.login(w, clerk, TEST_PIN)
    return e


def serve(e, window):
    """Call next and finish it at once; returns the called code (or None)."""
    r = e.call_next(window)
    if r.ticket is None:
        return None
    e.start(window)
    e.finish(window)
    return r.ticket.code


def test_longest_waiting_across_the_windows_queues(hall, clock):
    hall.issue(queue_id="B")
    clock.advance(10)
    hall.issue(queue_id="A")
    assert serve(hall, "1") == "B001"
    assert serve(hall, "1") == "A001"
    assert serve(hall, "1") is None


def test_specialised_window_only_calls_its_queue(hall):
    hall.issue(queue_id="A")
    assert serve(hall, "3") is None
    hall.issue(queue_id="B")
    assert serve(hall, "3") == "B001"


def test_queue_order_preference(small_hall, make_engine, clock):
    e = make_engine(small_hall(policy={"queue_preference": "queue_order"}))
    e.login("2", "2", TEST_PIN)
    e.issue(queue_id="A")
    clock.advance(5)
    e.issue(queue_id="B")
    assert serve(e, "2") == "B001"  # window 2 prefers B although A waited longer


def test_green_channel_goes_first_but_never_starves_normal(hall, clock):
    normals = [hall.issue(queue_id="A").ticket.code for _ in range(2)]
    greens = [hall.issue(queue_id="A", priority_reason="elderly").ticket.code for _ in range(5)]
    order = [serve(hall, "1") for _ in range(7)]
    # max_priority_in_row = 3: three green, then a normal, then the rest.
    assert order == greens[:3] + normals[:1] + greens[3:5] + normals[1:]


def test_appointment_is_first_in_its_slot_only(hall, clock):
    now = clock.now()
    hall.issue(queue_id="A")
    later = hall.issue(queue_id="A", appointment_start=now + timedelta(hours=2)).ticket
    due = hall.issue(queue_id="A", appointment_start=now + timedelta(minutes=5)).ticket
    assert serve(hall, "1") == due.code  # its slot starts within 15 minutes
    assert serve(hall, "1") == "A001"  # the 2-hours-later appointment is not due
    assert serve(hall, "1") == later.code  # ...but it is not lost either


def test_people_ahead_and_estimate(hall):
    first = hall.issue(queue_id="B")
    second = hall.issue(queue_id="B")
    assert (first.ahead, second.ahead) == (0, 1)
    green = hall.issue(queue_id="B", priority_reason="disabled")
    assert green.ahead == 0  # goes before the normal tickets
    third = hall.issue(queue_id="B")
    assert third.ahead == 3
    # avg 8 min (default) with 3 open windows serving B: ceil(3*8/3) = 8
    assert third.est_wait_min == 8


def test_unknown_priority_reason_is_refused(hall):
    with pytest.raises(EngineError) as err:
        hall.issue(queue_id="A", priority_reason="vip")
    assert err.value.code == "bad_request"
