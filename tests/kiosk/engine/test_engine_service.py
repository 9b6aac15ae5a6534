"""The engine on a real Mosquitto: commands, retained state, refusals that change nothing."""

from __future__ import annotations

import json
import queue
import threading

import paho.mqtt.client as mqtt
import pytest
from clerks import DEMO_PIN
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from sync import contract, topics

pytestmark = pytest.mark.broker


def cmd(link, payload, timeout=5.0):
    return link.request(topics.command("demo-hall", link.device_id), payload, timeout=timeout)


def outbox_count(service):
    return service.engine.conn.execute("SELECT count(*) FROM outbox").fetchone()[0]


def test_issue_call_and_retained_window_state(engine_service, device):
    kiosk = device("kiosk-1")
    caller = device("caller-3")
    r = cmd(kiosk, {"cmd": "issue", "item": "gjj-query"})
    assert r["ok"] and r["result"]["ticket"]["code"] == "D001"
    assert cmd(caller, {"cmd": "login", "clerk": "1003", "pin": DEMO_PIN})["ok"]
    called = cmd(caller, {"cmd": "call_next"})
    assert called["result"]["ticket"]["code"] == "D001"

    # A display that starts now sees the truth at once from the retained state.
    display = device("display-1")
    states: queue.Queue = queue.Queue()
    display.subscribe(topics.window_state("demo-hall", "3"), lambda m: states.put(m.payload))
    state = states.get(timeout=5)
    assert state["current"]["code"] == "D001"
    assert state["clerk"]["name"] == "陈静"
    assert state["status"] == "serving"
    contract.validate(topics.window_state("demo-hall", "3"), state)


def test_call_is_announced(engine_service, device):
    board = device("board-1")
    calls: queue.Queue = queue.Queue()
    board.subscribe(topics.calls("demo-hall"), lambda m: calls.put(m.payload))
    kiosk, caller = device("kiosk-1"), device("caller-4")
    cmd(kiosk, {"cmd": "issue", "item": "rs-card"})
    cmd(caller, {"cmd": "login", "clerk": "2001", "pin": DEMO_PIN})
    cmd(caller, {"cmd": "call_next"})
    call = calls.get(timeout=5)
    assert (call["code"], call["window"], call["window_name"], call["recall"]) == (
        "B001",
        "4",
        "4号窗口",
        False,
    )


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"cmd": "explode"}, "bad_request"),
        ({"cmd": "issue", "item": "rs-card", "id_number": "320102199001011234"}, "bad_request"),
        ({"cmd": "pause", "window": "4", "reason": ""}, "bad_request"),
        ({"cmd": "call_next", "window": "5"}, "unauthorised"),  # caller-4 is window 4's
        ({"cmd": "issue", "item": "rs-card"}, "unauthorised"),  # callers do not issue
    ],
)
def test_bad_commands_get_a_clear_error_and_change_nothing(
    engine_service, device, payload, code, monkeypatch
):
    caller = device("caller-4")
    monkeypatch.setenv("HALL_VALIDATE_CONTRACT", "0")  # play a misbehaving device
    before = outbox_count(engine_service)
    r = cmd(caller, payload)
    assert r["ok"] is False
    assert r["error"]["code"] == code
    assert r["error"]["message"] and r["error"]["message_zh"]
    assert outbox_count(engine_service) == before


def raw_request(broker, device_id, data: bytes):
    """Send bytes no well-behaved link would send, and wait for the engine's answer."""
    answers: queue.Queue = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device_id, protocol=mqtt.MQTTv5)
    reply = topics.reply("demo-hall", device_id)
    connected = threading.Event()
    client.on_connect = lambda c, *a: (c.subscribe(reply, qos=1), connected.set())
    client.on_message = lambda c, u, m: answers.put(json.loads(m.payload))
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert connected.wait(5)
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = reply
        props.CorrelationData = b"raw-1"
        client.publish(
            topics.command("demo-hall", device_id), data, qos=1, properties=props
        ).wait_for_publish(5)
        return answers.get(timeout=5)
    finally:
        client.disconnect()
        client.loop_stop()
        sock = client.socket()
        if sock is not None:
            sock.close()


@pytest.mark.parametrize(
    "data",
    [
        b"{not json",
        b"\xff\xfe\x00",
        b'{"cmd": "issue", "item": "' + b"x" * 8000 + b'"}',
        b"[]",
        b'"call_next"',
    ],
    ids=["malformed", "not-utf8", "oversized", "array", "string"],
)
def test_malformed_and_oversized_commands(engine_service, broker, data):
    before = outbox_count(engine_service)
    answer = raw_request(broker, "kiosk-1", data)
    assert answer["ok"] is False and answer["error"]["code"] == "bad_request"
    assert outbox_count(engine_service) == before


def test_unknown_device_is_unauthorised(engine_service, broker):
    answer = raw_request(broker, "intruder", b'{"cmd": "issue", "item": "rs-card"}')
    assert answer["error"]["code"] == "unauthorised"
    assert outbox_count(engine_service) == 0


def test_presence_and_last_will(engine_service, device, broker):
    watcher = device("monitor")
    seen: queue.Queue = queue.Queue()
    watcher.subscribe("hall/demo-hall/dev/+/presence", lambda m: seen.put(m.payload))
    statuses = {}
    while "engine" not in statuses:
        p = seen.get(timeout=5)
        statuses[p["device"]] = p["status"]
    assert statuses["engine"] == "online"
