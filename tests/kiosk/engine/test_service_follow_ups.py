"""好差评 over a real Mosquitto (#14): a case finished at the caller, rated at the
evaluator, its follow-up worked from the web role; only the web role may send the
follow-up commands, an unknown manager is refused, and the citizen's full phone number is
only in the follow_ups answer to the web role (never in a retained state or a log)."""

from __future__ import annotations

import logging
import queue
import time
from datetime import datetime

import pytest
from clerks import DEMO_PIN

from sync import contract, topics

pytestmark = pytest.mark.broker

HALL = "demo-hall"
PHONE = "13912345678"
FOLLOW_UP_COMMANDS = [
    {"cmd": "follow_ups", "manager": "mgr-1"},
    {"cmd": "follow_up_callback", "manager": "mgr-1", "rating_id": "r-1", "reached": True},
    {"cmd": "follow_up_rectify", "manager": "mgr-1", "rating_id": "r-1", "action": "培训"},
]


def cmd(link, payload, timeout=5.0):
    return link.request(topics.command(HALL, link.device_id), payload, timeout=timeout)


def _wait(q, test, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            item = q.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        if test(item):
            return item
    raise AssertionError("the expected message did not arrive")


def _bad_rating(engine_service, device):
    kiosk, caller, evaluator = device("kiosk-1"), device("caller-1"), device("evaluator-1")
    states: queue.Queue = queue.Queue()
    evaluator.subscribe(topics.window_state(HALL, "1"), lambda m: states.put(m.payload))
    cmd(kiosk, {"cmd": "issue", "item": "hj-proof", "person_key": "b" * 32})
    assert cmd(caller, {"cmd": "login", "clerk": "1001", "pin": DEMO_PIN})["ok"]
    ticket = cmd(caller, {"cmd": "call_next"})["result"]["ticket"]
    cmd(caller, {"cmd": "start"})
    case = cmd(caller, {"cmd": "finish_case", "case_no": "HJ-2026-9"})["result"]
    assert case["case_no"] == "HJ-2026-9" and case["item"] == "hj-proof"
    state = _wait(states, lambda s: s.get("to_rate"))
    contract.validate(topics.window_state(HALL, "1"), state)
    assert state["cases"][0]["case_id"] == case["case_id"]
    assert state["current"]["status"] == "serving"
    rating = {
        "rating_id": "r-1",
        "ticket_id": ticket["id"],
        "case_id": state["to_rate"][0]["case_id"],
        "level": 5,
        "reasons": ["服务态度差"],
        "contact": PHONE,
        "channel": "tablet",
        "comment": "态度不好",
    }
    answer = cmd(evaluator, {"cmd": "rate", "rating": rating})
    assert answer["ok"] and answer["result"]["follow_up"] is True, answer
    again = cmd(evaluator, {"cmd": "rate", "rating": {**rating, "rating_id": "r-2"}})
    assert again["error"]["code"] == "already_rated"
    assert again["error"]["message_zh"] == "该件已评价过，感谢您的评价"
    return states


@pytest.mark.parametrize("device_id", ["caller-1", "evaluator-1", "kiosk-1", "monitor"])
def test_only_the_web_role_sends_follow_up_commands(engine_service, device, device_id):
    _bad_rating(engine_service, device)
    link = device(device_id)
    for payload in FOLLOW_UP_COMMANDS:
        answer = cmd(link, dict(payload))
        assert not answer["ok"] and answer["error"]["code"] == "unauthorised", payload
    row = engine_service.engine.conn.execute("SELECT status FROM follow_ups").fetchone()
    assert row[0] == "open"


def test_the_web_role_works_the_follow_up(engine_service, device, caplog):
    caplog.set_level(logging.DEBUG)
    states = _bad_rating(engine_service, device)
    web = device("web-1")
    for payload in FOLLOW_UP_COMMANDS:
        refused = cmd(web, {**payload, "manager": "nobody"})
        assert refused["error"]["code"] == "unknown_manager", payload
    missing = cmd(web, {"cmd": "follow_up_callback", "rating_id": "r-1", "reached": True})
    assert missing["error"]["code"] == "bad_request"
    blank = cmd(web, {"cmd": "follow_up_rectify", "manager": "mgr-1", "rating_id": "r-1",
                      "action": "   "})  # fmt: skip
    assert blank["error"]["code"] == "bad_request"

    listed = cmd(web, {"cmd": "follow_ups", "manager": "mgr-1"})["result"]
    (entry,) = listed["open"]
    assert entry["contact"] == PHONE and entry["contact_masked"] == "139****5678"
    assert (entry["code"], entry["deadline"], entry["comment"]) == (
        "A001",
        "2026-12-14",
        "态度不好",
    )
    called = cmd(web, {"cmd": "follow_up_callback", "manager": "mgr-1", "rating_id": "r-1",
                       "reached": True, "answer": "已致歉"})  # fmt: skip
    assert called["result"] == {"rating_id": "r-1", "status": "called"}
    done = cmd(web, dict(FOLLOW_UP_COMMANDS[2]))
    assert done["result"] == {"rating_id": "r-1", "status": "closed"}
    listed = cmd(web, {"cmd": "follow_ups", "manager": "mgr-1"})["result"]
    assert listed["open"] == [] and listed["recent"][0]["status"] == "closed"
    assert listed["rates"]["callback_rate"] == 1.0

    stats = cmd(device("monitor"), {"cmd": "statistics"})["result"]["follow_ups"]
    assert (stats["opened"], stats["rectification_rate"]) == (1, 1.0)
    while not states.empty():
        assert PHONE not in str(states.get())
    assert PHONE not in caplog.text
    outbox = " ".join(
        r[0] for r in engine_service.engine.conn.execute(
            "SELECT payload FROM outbox WHERE kind IN ('follow_up', 'alarm', 'manager_action')"
        )
    )  # fmt: skip
    assert PHONE not in outbox and "follow_up" in " ".join(
        r[0] for r in engine_service.engine.conn.execute("SELECT kind FROM outbox")
    )


def test_the_sweep_sends_the_reminder_once(engine_service, device, hall_clock):
    _bad_rating(engine_service, device)
    hall_clock.set(datetime(2026, 12, 9, 9, 0, tzinfo=hall_clock.now().tzinfo))
    engine_service.sweep()
    engine_service.sweep()
    steps = [
        r[0]
        for r in engine_service.engine.conn.execute(
            "SELECT json_extract(payload, '$.step') FROM outbox WHERE kind='follow_up'"
        )
    ]
    assert steps == ["opened", "reminder"]
