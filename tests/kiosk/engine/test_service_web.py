"""The web role's commands on a real Mosquitto (#13): who may send them, what they answer,
and that no token and no password ever reaches a retained state, an answer or a log."""

from __future__ import annotations

import queue
import threading
import time

import pytest
from clerks import DEMO_PIN

from hall.demo_apps import DEMO_MANAGER_PASSWORD
from sync import contract, topics

pytestmark = pytest.mark.broker

HALL = "demo-hall"
MANAGER_COMMANDS = [
    {"cmd": "progress", "tokens": ["A" * 22]},
    {"cmd": "overview"},
    {"cmd": "manager_login", "account": "manager", "password": "x" * 10},
    {"cmd": "set_window_queues", "manager": "mgr-1", "window": "4", "queues": ["A"]},
    {"cmd": "open_window", "manager": "mgr-1", "window": "4"},
    {"cmd": "close_window", "manager": "mgr-1", "window": "4"},
    {"cmd": "move_ticket", "manager": "mgr-1", "code": "A001", "to_queue": "B"},
    {"cmd": "post_notice", "manager": "mgr-1", "text": "x"},
    {"cmd": "ack_alert", "manager": "mgr-1", "alert": "no_open_window:A"},
]


def cmd(link, payload, timeout=5.0):
    return link.request(topics.command(HALL, link.device_id), payload, timeout=timeout)


@pytest.mark.parametrize("device_id", ["caller-4", "kiosk-1", "display-1", "board-1", "monitor"])
def test_no_other_role_may_send_the_web_commands(engine_service, device, device_id):
    link = device(device_id)
    for payload in MANAGER_COMMANDS:
        answer = cmd(link, dict(payload))
        assert not answer["ok"] and answer["error"]["code"] == "unauthorised", payload
    assert engine_service.engine.window_queues("4") == ("B",)
    assert not engine_service.engine.closed_by_manager("4")


def test_the_web_role_runs_the_console(engine_service, device):
    kiosk, caller, web = device("kiosk-1"), device("caller-4"), device("web-1")
    states: queue.Queue = queue.Queue()
    web.subscribe(topics.window_state(HALL, "4"), lambda m: states.put(m.payload))
    boards: queue.Queue = queue.Queue()
    web.subscribe(topics.board(HALL), lambda m: boards.put(m.payload))
    cmd(kiosk, {"cmd": "issue", "item": "hj-proof", "person_key": "a" * 32})
    cmd(kiosk, {"cmd": "issue", "item": "rs-card"})
    cmd(caller, {"cmd": "login", "clerk": "2001", "pin": DEMO_PIN})

    login = cmd(
        web, {"cmd": "manager_login", "account": "manager", "password": DEMO_MANAGER_PASSWORD}
    )
    assert login == {"ok": True, "result": {"manager": {"id": "mgr-1", "name": "刘主任"}}}
    moved = cmd(
        web, {"cmd": "set_window_queues", "manager": "mgr-1", "window": "4", "queues": ["A"]}
    )
    assert moved["result"] == {"window": "4", "queues": ["A"]}
    state = _wait(states, lambda s: s["queues"] == ["A"])
    contract.validate(topics.window_state(HALL, "4"), state)
    assert cmd(caller, {"cmd": "call_next"})["result"]["ticket"]["code"] == "A001"

    cmd(web, {"cmd": "post_notice", "manager": "mgr-1", "text": "社保业务暂停", "minutes": 10})
    board = _wait(boards, lambda b: b.get("notice"))
    assert board["notice"]["text"] == "社保业务暂停"
    contract.validate(topics.board(HALL), board)

    cmd(caller, {"cmd": "start"})
    assert cmd(web, {"cmd": "close_window", "manager": "mgr-1", "window": "4"})["ok"]
    state = _wait(states, lambda s: s["closed_by_manager"])
    assert state["current"]["code"] == "A001"  # its citizen is still served
    refused = cmd(caller, {"cmd": "call_next"})
    assert refused["error"]["code"] == "window_closed"
    assert refused["error"]["message_zh"] == "本窗口已暂停叫号"

    overview = cmd(web, {"cmd": "overview"})["result"]
    w4 = next(w for w in overview["windows"] if w["id"] == "4")
    assert (w4["status"], w4["closed_by_manager"], w4["queues"]) == ("closed", True, ["A"])
    assert {a["kind"] for a in overview["alerts"]} >= {"no_open_window"}  # B has nobody
    assert "a" * 32 not in str(overview)


def test_an_unknown_manager_is_refused(engine_service, device):
    web = device("web-1")
    for manager in ("mgr-9", "someone"):
        answer = cmd(web, {"cmd": "close_window", "manager": manager, "window": "4"})
        assert answer["error"]["code"] == "unknown_manager"
    answer = cmd(web, {"cmd": "close_window", "window": "4"})
    assert answer["error"]["code"] == "bad_request"
    assert not engine_service.engine.closed_by_manager("4")


@pytest.mark.parametrize(
    "payload",
    [
        {"cmd": "progress", "tokens": []},
        {"cmd": "progress", "tokens": ["A" * 22] * 101},
        {"cmd": "progress", "tokens": ["<script>alert(1)</script>"]},
        {"cmd": "set_window_queues", "manager": "mgr-1", "window": "4", "queues": ["B"] * 11},
        {"cmd": "set_window_queues", "manager": "mgr 1", "window": "4", "queues": ["B"]},
        {"cmd": "post_notice", "manager": "mgr-1", "text": "x" * 81},
        {"cmd": "post_notice", "manager": "mgr-1", "text": "a\u0000b"},
        {"cmd": "post_notice", "manager": "mgr-1", "text": "x", "minutes": 10_000},
        {"cmd": "ack_alert", "manager": "mgr-1", "alert": "../../x"},
        {"cmd": "manager_login", "account": "Robert'); DROP TABLE", "password": "x" * 8},
    ],
)
def test_hostile_web_commands_are_refused_by_the_contract(payload):
    """What the engine answers bad_request before anything runs (the sender's link checks
    the same contract, so these are tried against it directly)."""
    assert contract.command_errors(payload) is not None


def test_a_password_goes_only_with_its_login(engine_service, device):
    web = device("web-1")
    answer = cmd(web, {"cmd": "overview", "password": "hall-demo-2580"})
    assert answer["error"]["code"] == "bad_request"
    assert "hall-demo-2580" not in str(answer)


def test_a_password_is_never_echoed_or_logged(engine_service, device, caplog):
    web = device("web-1")
    secret = "Not-The-Password-8317"
    answer = cmd(web, {"cmd": "manager_login", "account": "manager", "password": secret})
    assert answer["error"]["code"] == "login_failed"
    assert answer["error"]["data"] == {"attempts_left": 4}
    for bad in (12345678, ["x"] * 3, {"p": secret}):
        answer = cmd(web, {"cmd": "manager_login", "account": "manager", "password": bad})
        assert answer["error"]["code"] == "bad_request"
        assert str(bad) not in str(answer) and secret not in str(answer)
    assert secret not in caplog.text and "12345678" not in caplog.text


def test_progress_never_returns_other_day_tokens(engine_service, device, hall_clock):
    kiosk, web = device("kiosk-1"), device("web-1")
    first = cmd(kiosk, {"cmd": "issue", "item": "rs-card"})["result"]
    token = first["follow_url"].rsplit("/", 1)[1]
    today = cmd(web, {"cmd": "progress", "tokens": [token]})["result"]
    assert today["tickets"][token]["code"] == "B001" and today["tickets"][token]["ahead"] == 0
    hall_clock.advance(24 * 3600)
    assert cmd(web, {"cmd": "progress", "tokens": [token]})["result"]["tickets"] == {}


def test_the_token_is_unguessable_and_in_no_retained_state(engine_service, device):
    kiosk, caller, web = device("kiosk-1"), device("caller-4"), device("web-1")
    answers = [cmd(kiosk, {"cmd": "issue", "item": "rs-card"})["result"] for _ in range(20)]
    tokens = [a["follow_url"].rsplit("/", 1)[1] for a in answers]
    assert len(set(tokens)) == 20 and all(len(t) >= 22 for t in tokens)  # 22 x 6 bits >= 128
    assert all(t not in str(a["ticket"]) for t, a in zip(tokens, answers, strict=True))
    calls: list[dict] = []
    web.subscribe(topics.calls(HALL), lambda m: calls.append(m.payload))
    cmd(caller, {"cmd": "login", "clerk": "2001", "pin": DEMO_PIN})
    cmd(caller, {"cmd": "call_next"})
    cmd(web, {"cmd": "post_notice", "manager": "mgr-1", "text": "请留意叫号"})

    retained: dict[str, dict] = {}
    done = threading.Event()
    listener = device("monitor")
    listener.subscribe(f"hall/{HALL}/#", lambda m: retained.__setitem__(m.topic, m.payload))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not done.is_set():
        if topics.board(HALL) in retained and topics.window_state(HALL, "4") in retained:
            done.set()
        time.sleep(0.05)
    assert done.is_set()
    time.sleep(0.3)
    text = str(retained) + str(calls)
    assert calls and retained
    assert not any(t in text for t in tokens)


def _wait(q: queue.Queue, ok, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            item = q.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        if ok(item):
            return item
    raise AssertionError("the expected state was not published")


def test_the_sweep_raises_alerts_and_takes_an_expired_notice_down(
    engine_service, device, hall_clock
):
    kiosk, web = device("kiosk-1"), device("web-1")
    boards: queue.Queue = queue.Queue()
    web.subscribe(topics.board(HALL), lambda m: boards.put(m.payload))
    cmd(kiosk, {"cmd": "issue", "item": "mz-dibao", "person_key": "b" * 32})
    cmd(web, {"cmd": "post_notice", "manager": "mgr-1", "text": "十分钟后暂停取号", "minutes": 1})
    _wait(boards, lambda b: b.get("notice"))
    hall_clock.advance(minutes=31)  # the notice is over; C has waited 31 minutes
    engine_service.sweep()
    assert _wait(boards, lambda b: b.get("notice") is None)["notice"] is None
    keys = [a["key"] for a in cmd(web, {"cmd": "overview"})["result"]["alerts"]]
    assert keys == ["no_open_window:C", "longest_wait:C"]
    raised = engine_service.engine.conn.execute(
        "SELECT count(*) FROM outbox WHERE kind='alarm' AND payload LIKE '%hall_alert%'"
    ).fetchone()[0]
    assert raised == 2
