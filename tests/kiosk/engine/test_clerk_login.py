"""Clerk login over the hall plane: the caller's ``login`` carries the PIN, the engine
checks it and never repeats it; a window nobody is logged in at commands nothing; the
displays see a clerk leave (moved to another window, or idle)."""

from __future__ import annotations

import logging
import queue

import pytest
from clerks import DEMO_PIN

from sync import topics

pytestmark = pytest.mark.broker
HALL = "demo-hall"


def cmd(link, payload, timeout=5.0):
    return link.request(topics.command(HALL, link.device_id), payload, timeout=timeout)


def error(answer) -> dict:
    assert answer["ok"] is False, answer
    return answer["error"]


def test_the_engine_checks_the_pin_and_never_repeats_it(engine_service, device, caplog):
    caplog.set_level(logging.DEBUG)
    caller = device("caller-3")
    assert error(cmd(caller, {"cmd": "login", "clerk": "1003"}))["code"] == "pin_required"
    wrong = error(cmd(caller, {"cmd": "login", "clerk": "1003", "pin": "8080"}))
    assert (wrong["code"], wrong["message_zh"]) == ("wrong_pin", "密码错误，请重新输入")
    for pin in (8080, {"p": "8080"}, "８０８０"):  # not text, or not digits: no echo either
        answer = cmd(caller, {"cmd": "login", "clerk": "1003", "pin": pin})
        assert "8080" not in str(answer) and "８０８０" not in str(answer)
        assert error(answer)["code"] in ("bad_request", "wrong_pin")
    assert error(cmd(caller, {"cmd": "board", "pin": "8080"}))["code"] == "bad_request"
    ok = cmd(caller, {"cmd": "login", "clerk": "1003", "pin": DEMO_PIN})
    assert ok["ok"] and ok["result"]["clerk"]["name"] == "陈静"
    assert DEMO_PIN not in str(ok)
    assert "8080" not in caplog.text and "８０８０" not in caplog.text
    assert f'"{DEMO_PIN}"' not in caplog.text
    stored = "\n".join(engine_service.engine.conn.iterdump())
    assert "8080" not in stored and f'"{DEMO_PIN}"' not in stored


@pytest.mark.parametrize(
    "payload",
    [
        {"cmd": "call_next"},
        {"cmd": "recall"},
        {"cmd": "start"},
        {"cmd": "finish"},
        {"cmd": "no_show"},
        {"cmd": "transfer", "to_queue": "B"},
        {"cmd": "pause", "reason": "临时离开"},
        {"cmd": "resume"},
        {"cmd": "staff_status", "status": "外出"},
        {"cmd": "requeue", "code": "A001"},
    ],
)
def test_a_window_nobody_is_logged_in_at_commands_nothing(engine_service, device, payload):
    caller = device("caller-1")
    cmd(device("kiosk-1"), {"cmd": "issue", "queue": "A"})
    before = engine_service.engine.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    err = error(cmd(caller, payload))
    assert err["code"] == "window_closed" and "请先登录" in err["message_zh"]
    after = engine_service.engine.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    assert after == before


def test_five_wrong_pins_lock_the_clerk_with_an_alarm(engine_service, device):
    caller = device("caller-2")
    for n in range(4):
        err = error(cmd(caller, {"cmd": "login", "clerk": "1002", "pin": f"000{n}"}))
        assert err["code"] == "wrong_pin" and err["data"]["attempts_left"] == 4 - n
    err = error(cmd(caller, {"cmd": "login", "clerk": "1002", "pin": "0004"}))
    assert err["code"] == "clerk_locked" and err["data"]["retry_after_s"] == 15 * 60
    assert error(cmd(caller, {"cmd": "login", "clerk": "1002", "pin": DEMO_PIN}))["code"] == (
        "clerk_locked"
    )
    alarms = engine_service.engine.conn.execute(
        "SELECT payload FROM outbox WHERE kind='alarm'"
    ).fetchall()
    assert len(alarms) == 1 and "clerk_locked" in alarms[0][0]


def test_moving_to_another_window_and_idle_logout_show_on_the_displays(
    engine_service, device, hall_clock
):
    states: dict[str, queue.Queue] = {"1": queue.Queue(), "2": queue.Queue()}
    display = device("display-1")
    for window, q in states.items():
        display.subscribe(topics.window_state(HALL, window), lambda m, q=q: q.put(m.payload))

    def status(window: str, wanted: str) -> None:
        while True:
            state = states[window].get(timeout=5)
            if state["status"] == wanted:
                return

    assert cmd(device("caller-1"), {"cmd": "login", "clerk": "1001", "pin": DEMO_PIN})["ok"]
    status("1", "idle")
    assert cmd(device("caller-2"), {"cmd": "login", "clerk": "1001", "pin": DEMO_PIN})["ok"]
    status("1", "closed")  # the clerk left window 1 for window 2
    status("2", "idle")
    hall_clock.advance(minutes=31)  # the demo hall: idle_logout_min 30
    assert engine_service.sweep_idle() == ["2"]
    status("2", "closed")
    err = error(cmd(device("caller-2"), {"cmd": "call_next"}))
    assert err["code"] == "window_closed"
