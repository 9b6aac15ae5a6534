"""Daily numbering: never repeats within a business day, also across restarts and clock jumps."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kiosk.engine.config import parse_hall_config
from kiosk.engine.errors import EngineError


def test_numbers_are_sequential_per_queue_with_prefix(engine):
    codes = [engine.issue(item_id="hj-proof", person_key=f"{i:032x}").ticket.code for i in range(3)]
    codes.append(engine.issue(item_id="rs-proof").ticket.code)
    assert codes == ["A001", "A002", "A003", "B001"]


def test_restart_continues_numbering(make_engine, clock):
    e1 = make_engine()
    e1.issue(queue_id="A")
    e1.issue(queue_id="A")
    e1.close()
    e2 = make_engine()
    assert e2.issue(queue_id="A").ticket.code == "A003"


def test_clock_jumping_back_within_the_day_never_reuses_a_number(engine, clock):
    first = engine.issue(queue_id="A").ticket.code
    clock.jump(timedelta(minutes=-20))
    assert engine.issue(queue_id="A").ticket.code != first


def test_clock_jumping_back_a_day_keeps_the_later_business_date(engine, clock):
    engine.issue(queue_id="A")
    engine.issue(queue_id="A")
    clock.jump(timedelta(days=-3))  # an RTC reset: Friday 2026-11-20, 09:30, a working day
    t = engine.issue(queue_id="A").ticket
    assert t.business_date == "2026-11-23"
    assert t.code == "A003"


def test_new_business_day_starts_at_one(engine, clock):
    engine.issue(queue_id="A")
    clock.advance(minutes=24 * 60)  # Tuesday 09:30
    t = engine.issue(queue_id="A").ticket
    assert (t.code, t.business_date) == ("A001", "2026-11-24")


def test_daily_cap_refuses_with_reason(small_hall, make_engine):
    data = small_hall()
    data["queues"][0]["daily_cap"] = 2
    e = make_engine(data)
    e.issue(queue_id="A")
    e.issue(queue_id="A")
    with pytest.raises(EngineError) as err:
        e.issue(queue_id="A")
    assert err.value.code == "daily_cap"
    assert "号源已满" in err.value.message_zh
    assert e.issue(queue_id="B").ticket.code == "B001"  # other queues unaffected


def test_number_range_exhausted(small_hall, make_engine):
    data = small_hall()
    data["queues"][0].update(first_number=98, last_number=99)
    e = make_engine(data)
    assert [e.issue(queue_id="A").ticket.code for _ in range(2)] == ["A098", "A099"]
    with pytest.raises(EngineError) as err:
        e.issue(queue_id="A")
    assert err.value.code == "numbers_exhausted"


def test_a_refused_ticket_takes_no_number(small_hall, make_engine):
    """The number is taken and checked in the issue's transaction: a refusal (cap, range)
    rolls it back, so the number is the next one once the queue may issue again."""
    data = small_hall()
    data["queues"][0].update(daily_cap=1, first_number=98, last_number=99)
    e = make_engine(data)

    def refused(times: int, code: str) -> None:
        for _ in range(times):
            with pytest.raises(EngineError) as err:
                e.issue(queue_id="A")
            assert err.value.code == code

    assert e.issue(queue_id="A").ticket.code == "A098"
    refused(3, "daily_cap")
    data["queues"][0]["daily_cap"] = 5
    e.reconfigure(parse_hall_config(data))
    assert e.issue(queue_id="A").ticket.code == "A099"
    refused(2, "numbers_exhausted")
    data["queues"][0]["last_number"] = 100
    e.reconfigure(parse_hall_config(data))
    assert e.issue(queue_id="A").ticket.code == "A100"
