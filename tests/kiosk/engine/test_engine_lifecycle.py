"""Ticket lifecycle at a window: call, recall, start, finish, no-show, re-queue, transfer,
pause, login/logout; per-person limits; statistics."""

from __future__ import annotations

import pytest
from clerks import TEST_PIN

from kiosk.engine.errors import EngineError


@pytest.fixture
def hall(small_hall, make_engine):
    e = make_engine(small_hall())
    e.login("1", "1", TEST_PIN)
    return e


def test_call_start_finish_records_service(hall, clock):
    hall.issue(item_id="a1")
    clock.advance(minutes=4)
    called = hall.call_next("1").ticket
    assert (called.code, called.status, called.window_id) == ("A001", "called", "1")
    hall.start("1")
    clock.advance(minutes=6)
    done = hall.finish("1")
    assert done.status == "done"
    stats = hall.statistics()
    assert stats["queues"]["A"]["wait"]["avg_s"] == 240
    assert stats["clerks"]["1"]["service"]["avg_s"] == 360
    assert hall.window_view("1")["last_finished"]["code"] == "A001"


def test_call_next_finishes_a_serving_ticket(hall):
    hall.issue(queue_id="A")
    hall.issue(queue_id="A")
    hall.call_next("1")
    hall.start("1")
    r = hall.call_next("1")
    assert r.finished.code == "A001" and r.finished.status == "done"
    assert r.ticket.code == "A002"


def test_call_next_refuses_while_a_called_citizen_is_pending(hall):
    hall.issue(queue_id="A")
    hall.issue(queue_id="A")
    hall.call_next("1")
    with pytest.raises(EngineError) as err:
        hall.call_next("1")
    assert err.value.code == "window_busy"


def test_recall_cooldown_then_auto_no_show_after_n_calls(hall, clock):
    hall.issue(queue_id="A")
    hall.call_next("1")
    with pytest.raises(EngineError) as err:
        hall.recall("1")
    assert err.value.code == "recall_cooldown"
    clock.advance(10)
    assert hall.recall("1").ticket.call_count == 2
    clock.advance(10)
    assert hall.recall("1").ticket.call_count == 3
    clock.advance(10)
    r = hall.recall("1")
    assert r.auto_no_show and r.ticket.status == "no_show"
    assert hall.window_view("1")["current"] is None


def test_late_no_show_requeued_at_configured_position(hall):
    for _ in range(5):
        hall.issue(queue_id="A")
    hall.call_next("1")
    hall.no_show("1")
    issued = hall.requeue("A001")
    assert issued.ticket.status == "waiting"
    assert issued.ahead == 2  # position 3
    order = []
    for _ in range(5):
        order.append(hall.call_next("1").ticket.code)
        hall.start("1")
        hall.finish("1")
    assert order == ["A002", "A003", "A001", "A004", "A005"]
    with pytest.raises(EngineError):
        hall.requeue("A001")  # done now, not a no-show


def test_requeue_only_once(hall):
    hall.issue(queue_id="A")
    hall.call_next("1")
    hall.no_show("1")
    hall.requeue("A001")
    hall.call_next("1")
    hall.no_show("1")
    with pytest.raises(EngineError) as err:
        hall.requeue("A001")
    assert err.value.code == "requeue_limit"


def test_transfer_to_queue_keeps_original_place(small_hall, make_engine, clock):
    e = make_engine(small_hall())
    e.login("1", "1", TEST_PIN)
    e.login("3", "3", TEST_PIN)
    e.issue(queue_id="A")  # A001, will be transferred to B
    clock.advance(60)
    e.issue(queue_id="B")  # B001, issued later
    e.call_next("1")
    e.start("1")
    moved = e.transfer("1", to_queue="B")
    assert (moved.status, moved.queue_id, moved.issued_at) == ("waiting", "B", moved.issued_at)
    # 首问负责: at the B window the transferred citizen is ahead of the later B001.
    assert e.call_next("3").ticket.code == "A001"


def test_transfer_to_window_only_that_window_calls_it(small_hall, make_engine):
    e = make_engine(small_hall())
    for w in ("1", "2", "3"):
        e.login(w, w, TEST_PIN)
    e.issue(queue_id="B")
    e.call_next("3")
    e.transfer("3", to_window="2")
    assert e.call_next("1").ticket is None
    assert e.call_next("2").ticket.code == "B001"


def test_pause_requires_reason_and_blocks_calls(hall):
    hall.issue(queue_id="A")
    with pytest.raises(EngineError):
        hall.pause("1", "  ")
    hall.pause("1", "系统维护")
    view = hall.window_view("1")
    assert (view["status"], view["pause_reason"], view["staff_status"]) == (
        "paused",
        "系统维护",
        "暂离",
    )
    with pytest.raises(EngineError) as err:
        hall.call_next("1")
    assert err.value.code == "window_paused"
    hall.resume("1")
    assert hall.call_next("1").ticket.code == "A001"


def test_login_logout_attendance(hall, clock):
    clock.advance(minutes=30)
    hall.logout("1")
    rows = hall.conn.execute("SELECT clerk_id, login_at, logout_at FROM attendance").fetchall()
    assert [tuple(r) for r in rows] == [
        ("1", "2026-11-23T09:30:00+08:00", "2026-11-23T10:00:00+08:00")
    ]
    with pytest.raises(EngineError) as err:
        hall.call_next("1")
    assert err.value.code == "window_closed"
    with pytest.raises(EngineError) as err:
        hall.login("1", "999")
    assert err.value.code == "unknown_clerk"


def test_per_person_limits(small_hall, make_engine):
    e = make_engine(small_hall(limits={"per_person_active_per_queue": 1, "per_person_daily": 2}))
    e.login("1", "1", TEST_PIN)
    key = "a" * 32
    e.issue(queue_id="A", person_key=key)
    with pytest.raises(EngineError) as err:
        e.issue(queue_id="A", person_key=key)
    assert err.value.code == "person_active"
    e.issue(queue_id="B", person_key=key)
    with pytest.raises(EngineError) as err:
        e.issue(queue_id="A", person_key=key)  # still holding A001
    assert err.value.code == "person_active"
    # Once served, the person may not exceed the daily maximum either.
    e.call_next("1")
    e.start("1")
    e.finish("1")
    with pytest.raises(EngineError) as err:
        e.issue(queue_id="A", person_key=key)
    assert err.value.code == "person_daily"
    assert e.issue(queue_id="A", person_key="b" * 32).ticket.code == "A002"


def test_item_requiring_id_needs_a_person_key(hall):
    with pytest.raises(EngineError) as err:
        hall.issue(item_id="a-id")
    assert err.value.code == "id_required"
    assert hall.issue(item_id="a-id", person_key="c" * 32).ticket.item_id == "a-id"


def test_on_the_spot_items_over_30_minutes_are_flagged(hall, clock):
    hall.issue(item_id="a1")
    hall.call_next("1")
    hall.start("1")
    clock.advance(minutes=31)
    hall.finish("1")
    overdue = hall.statistics()["on_the_spot_overdue"]
    assert [o["code"] for o in overdue] == ["A001"]


def test_refused_commands_change_nothing(hall):
    before = hall.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    for call in (
        lambda: hall.start("1"),
        lambda: hall.finish("1"),
        lambda: hall.recall("1"),
        lambda: hall.transfer("1", to_queue="Z"),
        lambda: hall.call_next("9"),
    ):
        with pytest.raises(EngineError):
            call()
    assert hall.conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == before


def test_every_change_leaves_an_outbox_event_without_personal_data(hall):
    hall.issue(queue_id="A", person_key="d" * 32, masked_name="张*三")
    hall.call_next("1")
    hall.start("1")
    hall.finish("1")
    kinds = [r[0] for r in hall.conn.execute("SELECT kind FROM outbox ORDER BY seq")]
    assert kinds == [
        "clerk_login",
        "ticket_issued",
        "ticket_progress",  # issued (the citizen's reminders, #13)
        "ticket_called",
        "ticket_progress",  # called
        "service_started",
        "service_finished",
        "ticket_progress",  # finished
    ]
    payloads = " ".join(r[0] for r in hall.conn.execute("SELECT payload FROM outbox"))
    assert "d" * 32 not in payloads and "张" not in payloads


def test_rating_is_recorded_once(hall):
    hall.issue(queue_id="A")
    t = hall.call_next("1").ticket
    hall.start("1")
    hall.finish("1")
    first = hall.rate(window="1", rating_id="r1", ticket_id=t.id, level=1)
    again = hall.rate(window="1", rating_id="r1", ticket_id=t.id, level=1)
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert hall.conn.execute("SELECT count(*) FROM ratings").fetchone()[0] == 1
    with pytest.raises(EngineError):
        hall.rate(window="1", rating_id="r2", ticket_id="nope", level=9)
