"""The follow-up loop of a bad rating (#14): opened with the rating, a deadline in working
days, the reminder and the overdue flag once each, 回访 and 整改 by a manager, the rates,
and the citizen's phone number only where the manager needs it."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from hall.demo_apps import DEMO_PIN
from kiosk.engine.errors import EngineError
from sync import contract

PHONE = "13812345678"
_PEOPLE = iter(range(1, 10_000))


@pytest.fixture
def hall(engine):
    engine.login("1", "1001", DEMO_PIN)
    return engine


def rated(hall, level, *, rating_id, contact=PHONE):
    hall.issue(item_id="hj-proof", person_key=f"{next(_PEOPLE):032x}")
    t = hall.call_next("1").ticket
    hall.start("1")
    hall.finish("1")
    case_id = hall.window_view("1")["to_rate"][0]["case_id"]
    hall.rate(
        window="1",
        rating_id=rating_id,
        ticket_id=t.id,
        case_id=case_id,
        level=level,
        reasons=["服务态度差"] if level >= 4 else [],
        contact=contact if level >= 4 else None,
    )
    return t


def events(hall, kind="follow_up"):
    return [
        json.loads(r[0])
        for r in hall.conn.execute("SELECT payload FROM outbox WHERE kind=? ORDER BY seq", (kind,))
    ]


def test_a_bad_rating_opens_a_follow_up_with_its_deadline(hall):
    rated(hall, 4, rating_id="bad-1")
    rated(hall, 2, rating_id="good-1")
    rated(hall, 5, rating_id="bad-2")
    opened = events(hall)
    # Monday 2026-11-23 + 15 working days: the weekends skipped
    assert [(e["rating_id"], e["step"], e["deadline"]) for e in opened] == [
        ("bad-1", "opened", "2026-12-14"),
        ("bad-2", "opened", "2026-12-14"),
    ]
    for e in opened:
        assert contract.schema_errors("followUpEvent", e) is None
        assert PHONE not in json.dumps(e) and "5678" not in json.dumps(e)
    answer = hall.follow_ups("mgr-1")
    assert [f["rating_id"] for f in answer["open"]] == ["bad-1", "bad-2"]
    first = answer["open"][0]
    assert first["contact_masked"] == "138****5678" and first["contact"] == PHONE
    assert (first["level_name"], first["reasons"], first["status"]) == (
        "不满意",
        ["服务态度差"],
        "open",
    )
    assert (first["clerk_name"], first["staff_no"], first["item_name"]) == (
        "王晓燕",
        "1001",
        "公安派出所出具证明",
    )
    assert first["days_left"] == 15 and first["overdue"] is False


def test_a_follow_up_opens_with_the_rating_or_not_at_all(hall, monkeypatch):
    from kiosk.engine import engine as engine_module

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(engine_module, "add_working_days", broken)
    with pytest.raises(RuntimeError):
        rated(hall, 5, rating_id="bad-1")
    assert hall.conn.execute("SELECT count(*) FROM ratings").fetchone()[0] == 0
    assert events(hall, "evaluation") == []


def test_the_deadline_skips_holidays_and_counts_the_makeup_day(hall, clock):
    # the demo hall: National Day 10-01..10-07 off (10-04 a Sunday), Saturday 10-10 worked
    clock.set(datetime(2026, 9, 30, 10, 0))
    rated(hall, 5, rating_id="bad-1")
    (opened,) = events(hall)
    # 10-08, 09, 10 (调休), 12 .. 16, 19 .. 23, 26, 27: the 15th working day
    assert opened["deadline"] == "2026-10-27"


def test_the_reminder_and_the_overdue_flag_come_once_each(hall, clock):
    rated(hall, 4, rating_id="bad-1")
    assert hall.sweep_follow_ups() == []
    clock.set(datetime(2026, 12, 8, 9, 0))  # 4 working days left
    assert hall.sweep_follow_ups() == []
    clock.set(datetime(2026, 12, 9, 9, 0))  # 3 left: remind_days_before
    assert hall.sweep_follow_ups() == [{"rating_id": "bad-1", "step": "reminder"}]
    assert hall.sweep_follow_ups() == []
    clock.set(datetime(2026, 12, 14, 16, 0))  # the deadline itself: not yet overdue
    assert hall.sweep_follow_ups() == []
    assert hall.follow_ups("mgr-1")["open"][0]["days_left"] == 0
    clock.set(datetime(2026, 12, 15, 9, 0))
    assert hall.sweep_follow_ups() == [{"rating_id": "bad-1", "step": "overdue"}]
    assert hall.sweep_follow_ups() == []
    assert [e["step"] for e in events(hall)] == ["opened", "reminder", "overdue"]
    shown = hall.follow_ups("mgr-1")["open"][0]
    assert shown["overdue"] is True and shown["days_left"] == -1
    assert hall.statistics()["follow_ups"]["overdue"] == 1


def test_overdue_counts_from_the_first_working_day_past_the_deadline(hall, clock):
    clock.set(datetime(2026, 11, 20, 10, 0))  # Friday: deadline Friday 2026-12-11
    rated(hall, 4, rating_id="bad-1")
    assert events(hall)[0]["deadline"] == "2026-12-11"
    hall.sweep_follow_ups()  # nothing yet
    clock.set(datetime(2026, 12, 12, 10, 0))  # Saturday after the deadline
    steps = [s["step"] for s in hall.sweep_follow_ups()]
    assert "overdue" not in steps
    clock.set(datetime(2026, 12, 14, 9, 0))  # Monday
    assert [s["step"] for s in hall.sweep_follow_ups()] == ["overdue"]


def test_an_open_follow_up_raises_the_console_alert_and_overdue_raises_another(hall, clock):
    rated(hall, 5, rating_id="bad-1")
    assert [c["key"] for c in hall.evaluate_alerts()] == ["bad_rating:bad-1"]
    assert "12月14日" in hall.overview()["alerts"][0]["text_zh"]
    hall.ack_alert("mgr-1", "bad_rating:bad-1")
    clock.set(datetime(2026, 11, 24, 9, 30))  # the next day it stays seen
    hall.evaluate_alerts()
    assert hall.overview()["alerts"] == []
    clock.set(datetime(2026, 12, 15, 9, 30))
    hall.sweep_follow_ups()
    raised = [c for c in hall.evaluate_alerts() if c["state"] == "raised"]
    assert [c["key"] for c in raised] == ["bad_rating:bad-1:overdue"]
    assert "已超期" in hall.overview()["alerts"][0]["text_zh"]
    hall.follow_up_callback("mgr-1", "bad-1", True, "已道歉")
    hall.follow_up_rectify("mgr-1", "bad-1", "窗口人员服务规范培训")
    assert [c["state"] for c in hall.evaluate_alerts()] == ["cleared"]
    assert hall.overview()["alerts"] == []


def test_callback_then_rectification_closes_it(hall):
    rated(hall, 4, rating_id="bad-1")
    called = hall.follow_up_callback("mgr-1", "bad-1", False, "")
    assert called == {"rating_id": "bad-1", "status": "called"}
    again = hall.follow_up_callback("mgr-1", "bad-1", True, "说明了办理流程 电话13812345678")
    assert again["status"] == "called"
    done = hall.follow_up_rectify("mgr-1", "bad-1", "  已对窗口人员\n进行业务培训 ")
    assert done == {"rating_id": "bad-1", "status": "closed"}
    answer = hall.follow_ups("mgr-1")
    assert answer["open"] == []
    (closed,) = answer["recent"]
    assert closed["callback"]["reached"] is True
    assert closed["callback"]["answer"] == "说明了办理流程 电话138****5678"
    assert closed["rectification"]["action"] == "已对窗口人员 进行业务培训"
    steps = events(hall)
    assert [(e["step"], e.get("status")) for e in steps] == [
        ("opened", None),
        ("callback", "called"),
        ("callback", "called"),
        ("rectified", "closed"),
    ]
    assert all(contract.schema_errors("followUpEvent", e) is None for e in steps)
    assert PHONE not in json.dumps(steps)
    with pytest.raises(EngineError) as refused:
        hall.follow_up_rectify("mgr-1", "bad-1", "again")
    assert refused.value.code == "follow_up_closed"


def test_rectified_first_then_called_back_closes_it(hall):
    rated(hall, 4, rating_id="bad-1")
    assert hall.follow_up_rectify("mgr-1", "bad-1", "整改")["status"] == "rectified"
    assert hall.follow_up_callback("mgr-1", "bad-1", True, "满意")["status"] == "closed"


def test_follow_up_commands_check_the_manager_and_their_fields(hall):
    rated(hall, 4, rating_id="bad-1")
    for call, code in (
        (lambda: hall.follow_ups("nobody"), "unknown_manager"),
        (lambda: hall.follow_up_callback("nobody", "bad-1", True, ""), "unknown_manager"),
        (lambda: hall.follow_up_rectify(None, "bad-1", "x"), "unknown_manager"),
        (lambda: hall.follow_up_callback("mgr-1", "nope", True, ""), "unknown_follow_up"),
        (lambda: hall.follow_up_callback("mgr-1", "bad-1", "yes", ""), "bad_request"),
        (lambda: hall.follow_up_callback("mgr-1", "bad-1", True, "x" * 201), "bad_request"),
        (lambda: hall.follow_up_rectify("mgr-1", "bad-1", "  "), "bad_request"),
        (lambda: hall.follow_up_rectify("mgr-1", "bad-1", "x" * 401), "bad_request"),
    ):
        with pytest.raises(EngineError) as refused:
            call()
        assert refused.value.code == code
    assert [e["step"] for e in events(hall)] == ["opened"]


def test_the_rates(hall):
    for n in range(4):
        rated(hall, 4 + n % 2, rating_id=f"bad-{n}")
    rated(hall, 1, rating_id="good")
    assert hall.statistics()["follow_ups"] == {
        "opened": 4,
        "called_back": 0,
        "rectified": 0,
        "overdue": 0,
        "callback_rate": 0.0,
        "rectification_rate": 0.0,
    }
    hall.follow_up_callback("mgr-1", "bad-0", True, "")
    hall.follow_up_callback("mgr-1", "bad-1", False, "")
    hall.follow_up_callback("mgr-1", "bad-2", True, "")
    hall.follow_up_rectify("mgr-1", "bad-0", "培训")
    rates = hall.statistics()["follow_ups"]
    assert (rates["called_back"], rates["rectified"]) == (3, 1)
    assert (rates["callback_rate"], rates["rectification_rate"]) == (0.75, 0.25)
    assert hall.follow_ups("mgr-1")["rates"]["callback_rate"] == 0.75


def test_no_follow_up_no_rate(hall):
    assert hall.statistics()["follow_ups"]["callback_rate"] is None
    assert hall.follow_ups("mgr-1") == {
        "open": [],
        "recent": [],
        "rates": {
            "opened": 0,
            "called_back": 0,
            "rectified": 0,
            "overdue": 0,
            "callback_rate": None,
            "rectification_rate": None,
        },
    }
