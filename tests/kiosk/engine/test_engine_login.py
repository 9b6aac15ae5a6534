"""Clerk authentication in the engine: 工号 + PIN (hashed in the staff list), a lock after
repeated wrong PINs with an alarm, idle logout, one clerk at one window, and no clerk
command from a window nobody is logged in at."""

from __future__ import annotations

import hmac
import json
import logging

import pytest
from clerks import TEST_PIN

from kiosk.engine.config import ConfigError, parse_hall_config
from kiosk.engine.errors import EngineError
from sync import health


def refused(code: str, call, *args, **kwargs) -> EngineError:
    with pytest.raises(EngineError) as err:
        call(*args, **kwargs)
    assert err.value.code == code, err.value.to_dict()
    return err.value


def events(e, kind: str) -> list[dict]:
    rows = e.conn.execute("SELECT payload FROM outbox WHERE kind=? ORDER BY seq", (kind,))
    return [json.loads(r[0]) for r in rows]


def everything_stored(e) -> str:
    return "\n".join(e.conn.iterdump())


@pytest.fixture
def hall(small_hall, make_engine):
    return make_engine(small_hall(staff_login={"max_failures": 3, "lockout_min": 10}))


def test_no_login_without_the_right_pin(hall):
    for pin in (None, ""):
        assert "请输入工号和密码" in refused("pin_required", hall.login, "1", "1", pin).message_zh
    wrong = refused("wrong_pin", hall.login, "1", "1", "0000")
    assert wrong.message_zh == "密码错误，请重新输入"
    assert wrong.data["attempts_left"] == 2
    for pin in ("12", "abcd", 4321, ["4321"], "4321 "):  # malformed: just wrong
        refused("wrong_pin", hall.login, "1", "2", pin)
        hall.login("1", "2", TEST_PIN)  # (resets clerk 2's count)
        hall.logout("1")
    assert hall.window_view("1")["status"] == "closed"
    refused("unknown_clerk", hall.login, "1", "999", TEST_PIN)
    hall.login("1", "1", TEST_PIN)
    assert hall.window_view("1")["clerk"]["staff_no"] == "1"


def test_a_clerk_without_a_pin_hash_cannot_log_in(small_hall, make_engine):
    data = small_hall()
    del data["staff"][0]["pin_hash"]
    e = make_engine(data)
    err = refused("no_pin", e.login, "1", "1", TEST_PIN)
    assert err.message_zh == "该工号未设置登录密码，请联系大厅管理员"


def test_the_pin_is_compared_in_constant_time(hall, monkeypatch):
    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    refused("wrong_pin", hall.login, "1", "1", "9999")
    hall.login("1", "1", TEST_PIN)
    assert calls == [1, 1]


def test_repeated_wrong_pins_lock_the_clerk_and_raise_an_alarm(hall, clock, caplog):
    caplog.set_level(logging.INFO)
    refused("wrong_pin", hall.login, "1", "1", "1111")
    refused("wrong_pin", hall.login, "1", "1", "2222")
    locked = refused("clerk_locked", hall.login, "1", "1", "3333")  # the 3rd: max_failures
    assert locked.data["retry_after_s"] == 600
    assert "锁定" in locked.message_zh
    (alarm,) = events(hall, "alarm")
    assert (alarm["code"], alarm["state"], alarm["clerk"], alarm["window"]) == (
        "clerk_locked",
        "raised",
        "1",
        "1",
    )
    assert health.statuses(hall.conn)["clerk_login"]["status"] == "locked"
    refused("clerk_locked", hall.login, "1", "1", TEST_PIN)  # even the right PIN waits
    refused("clerk_locked", hall.login, "2", "1", TEST_PIN)  # at any window
    hall.login("2", "2", TEST_PIN)  # another clerk is not locked
    clock.advance(minutes=10)
    hall.login("1", "1", TEST_PIN)
    assert events(hall, "alarm")[-1] == {"code": "clerk_locked", "state": "cleared", "clerk": "1"}
    assert health.statuses(hall.conn)["clerk_login"]["status"] == "ok"
    # no PIN in any log line, event or stored row
    for pin in ("1111", "2222", "3333", TEST_PIN):
        assert pin not in caplog.text
        assert pin not in everything_stored(hall)


def test_the_count_is_of_wrong_pins_in_a_row_and_survives_a_restart(small_hall, make_engine):
    data = small_hall(staff_login={"max_failures": 3})
    e = make_engine(data)
    refused("wrong_pin", e.login, "1", "1", "1111")
    refused("wrong_pin", e.login, "1", "1", "1111")
    e.login("1", "1", TEST_PIN)  # right: the count starts again
    refused("wrong_pin", e.login, "1", "1", "1111")
    refused("wrong_pin", e.login, "1", "1", "1111")
    e.close()
    again = make_engine(data)  # the same database
    refused("clerk_locked", again.login, "1", "1", "1111")


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("call_next", ()),
        ("recall", ()),
        ("start", ()),
        ("finish", ()),
        ("no_show", ()),
        ("pause", ("临时离开",)),
        ("resume", ()),
        ("set_staff_status", ("外出",)),
        ("require_clerk", ()),
    ],
)
def test_nothing_is_done_at_a_window_nobody_is_logged_in_at(hall, command, args):
    hall.issue(item_id="a1")
    err = refused("window_closed", getattr(hall, command), "1", *args)
    assert "请先登录" in err.message_zh
    err = refused("window_closed", hall.transfer, "1", to_queue="B")
    assert "请先登录" in err.message_zh
    assert hall.waiting_count("A") == 1


def test_an_idle_clerk_is_logged_out(small_hall, make_engine, clock):
    e = make_engine(small_hall(staff_login={"idle_logout_min": 30}))
    e.login("1", "1", TEST_PIN)
    e.login("2", "2", TEST_PIN)
    clock.advance(minutes=20)
    e.call_next("2")  # window 2 works: its idle time starts again
    clock.advance(minutes=11)
    assert e.logout_idle() == ["1"]
    assert e.window_view("1")["status"] == "closed" and e.window_view("2")["status"] != "closed"
    assert events(e, "clerk_logout")[-1]["reason"] == "idle"
    refused("window_closed", e.call_next, "1")
    # a citizen being served keeps the clerk logged in, however long it takes
    e.issue(item_id="b1")
    e.login("1", "1", TEST_PIN)
    e.call_next("1")
    e.start("1")
    clock.advance(minutes=90)
    assert e.logout_idle() == ["2"]  # window 2 is idle; window 1 is serving
    e.finish("1")
    clock.advance(minutes=31)
    refused("window_closed", e.call_next, "1")  # the command itself finds the clerk gone


def test_idle_logout_can_be_off(small_hall, make_engine, clock):
    e = make_engine(small_hall(staff_login={"idle_logout_min": 0}))
    e.login("1", "1", TEST_PIN)
    clock.advance(minutes=600)
    assert e.logout_idle() == []
    e.call_next("1")


def test_a_clerk_is_logged_in_at_one_window_at_a_time(hall):
    assert hall.login("1", "1", TEST_PIN) is None
    assert hall.login("2", "1", TEST_PIN) == "1"  # logging in at window 2 leaves window 1
    assert hall.window_view("1")["status"] == "closed"
    assert hall.window_view("2")["clerk"]["id"] == "1"
    assert events(hall, "clerk_logout")[-1] == {
        "window": "1",
        "clerk": "1",
        "at": "2026-11-23T09:30:00+08:00",
        "reason": "moved",
    }
    # a citizen called to window 2: the clerk cannot leave it by logging in elsewhere
    hall.issue(item_id="b1")
    hall.call_next("2")
    err = refused("clerk_elsewhere", hall.login, "1", "1", TEST_PIN)
    assert err.data["window"] == "2"
    assert hall.window_view("1")["status"] == "closed"
    assert hall.window_view("2")["current"] is not None


def test_service_and_ratings_are_credited_to_the_logged_in_clerk(hall):
    hall.login("1", "2", TEST_PIN)
    ticket = hall.issue(item_id="a1").ticket
    hall.call_next("1")
    hall.start("1")
    hall.finish("1")
    hall.rate(window="1", rating_id="r1", ticket_id=ticket.id, level=1)
    assert list(hall.statistics()["clerks"]) == ["2"]
    rating = hall.conn.execute("SELECT clerk_id FROM ratings").fetchone()
    assert rating["clerk_id"] == "2"


def test_a_pin_hash_in_the_hall_config_is_checked(small_hall):
    for value, words in (("4321", "not a stored PIN"), (4321, "not a number")):
        data = small_hall()
        data["staff"][1]["pin_hash"] = value
        with pytest.raises(ConfigError) as err:
            parse_hall_config(data)
        assert [p.path for p in err.value.problems] == ["staff[1].pin_hash"]
        assert words in str(err.value) and "4321" not in str(err.value)
    data = small_hall(staff_login={"max_failures": 0, "lockout_min": 0, "idle_logout_min": -1})
    with pytest.raises(ConfigError) as err:
        parse_hall_config(data)
    assert [p.path for p in err.value.problems] == [
        "staff_login.max_failures",
        "staff_login.lockout_min",
        "staff_login.idle_logout_min",
    ]
