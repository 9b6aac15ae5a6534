"""The one paho wrapper (sync.client) under both planes: the hall plane's MqttLink and
the central plane's agent and center make, secure, encode and decode the same way."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sync_helpers import HALL

from sync import client as paho
from sync import topics
from sync.agent import SyncAgent
from sync.center import Center
from sync.client import BrokerAddress, Message, TlsSettings
from sync.inbound import REJECTS
from sync.mqtt import MqttLink

TLS = TlsSettings("/pki/ca.crt", "/pki/engine.crt", "/pki/engine.key")
HOSTILE = b'{"device":"engine","status":' + b"[" * 200 + b"]" * 200 + b"}"


class Recorded:
    """What paho's client was told, recorded instead of done."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tls: list[dict[str, Any]] = []
        self.logins: list[tuple[str, str | None]] = []
        recorder = self

        def tls_set(_client: mqtt.Client, **kw: Any) -> None:
            recorder.tls.append(kw)

        def username_pw_set(_client: mqtt.Client, username: str, password: str | None) -> None:
            recorder.logins.append((username, password))

        monkeypatch.setattr(mqtt.Client, "tls_set", tls_set)
        monkeypatch.setattr(mqtt.Client, "username_pw_set", username_pw_set)


class Wire:
    """A stand-in client: keeps what would have been published."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bool]] = []

    def publish(self, topic: str, data: bytes, **kw: Any) -> Any:
        self.sent.append((topic, data, bool(kw.get("retain"))))
        return SimpleNamespace(rc=mqtt.MQTT_ERR_SUCCESS, mid=len(self.sent))


def message(
    topic: str,
    raw: bytes,
    *,
    correlation: bytes | None = None,
    response_topic: str | None = None,
) -> mqtt.MQTTMessage:
    m = mqtt.MQTTMessage(topic=topic.encode())
    m.payload = raw
    if correlation is not None or response_topic is not None:
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        if correlation is not None:
            props.CorrelationData = correlation
        if response_topic is not None:
            props.ResponseTopic = response_topic
        m.properties = props
    return m


def counted(before: dict[str, int]) -> Counter[str]:
    now = Counter(REJECTS.snapshot())
    now.subtract(before)
    return +now


def link(**kw: Any) -> MqttLink:
    return MqttLink(host="127.0.0.1", port=1, hall_id=HALL, device_id="engine", **kw)


def test_tls_and_login_given_once_reach_the_client_on_both_planes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = Recorded(monkeypatch)
    hall = link(username="engine", password="pw", tls=TLS)
    center = paho.new_client(BrokerAddress("127.0.0.1", 1, "engine", "pw", TLS), "engine.sync")
    try:
        assert (
            seen.tls
            == [
                {
                    "ca_certs": "/pki/ca.crt",
                    "certfile": "/pki/engine.crt",
                    "keyfile": "/pki/engine.key",
                    "tls_version": seen.tls[0]["tls_version"],
                }
            ]
            * 2
        )
        assert seen.logins == [("engine", "pw")] * 2
        assert hall._client.protocol == center.protocol == mqtt.MQTTv5
    finally:
        hall.stop()
        paho.close(center)


def test_a_password_file_is_read_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen = Recorded(monkeypatch)
    secret = tmp_path / "center-password"
    secret.write_text("s3cret  \n", encoding="utf-8")
    reads: list[str] = []
    real = paho.read_password_file

    def read(path: str | Path) -> str:
        reads.append(str(path))
        return real(path)

    monkeypatch.setattr(paho, "read_password_file", read)
    password = paho.password_from("inline", secret)
    address = BrokerAddress("127.0.0.1", 1, "engine", password)
    hall = link(username="engine", password_file=secret)
    secret.unlink()  # nothing reads it again: reconnecting makes new clients from the address
    clients = [paho.new_client(address, f"c{i}") for i in range(3)]
    try:
        assert address.password == "s3cret"
        assert reads == [str(secret)] * 2  # once for the address, once for the link
        assert seen.logins == [("engine", "s3cret")] * 4
        assert paho.password_from("inline", None) == "inline"
    finally:
        hall.stop()
        for c in clients:
            paho.close(c)


def test_clean_and_persistent_client_ids() -> None:
    assert paho.client_id("engine.sync", session_expiry_s=3600) == "engine.sync"
    a, b = (paho.client_id("kiosk-1", session_expiry_s=0) for _ in range(2))
    assert a != b and a.startswith("kiosk-1-")


def test_json_is_encoded_and_decoded_the_same_on_both_planes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HALL_VALIDATE_CONTRACT", "1")
    doc = {"device": "engine", "role": "引擎", "status": "online"}
    topic = topics.presence(HALL, "engine")
    hall, center = Wire(), Wire()
    the_link = link()
    try:
        the_link._client = hall  # type: ignore[assignment]
        the_link.publish(topic, doc, retain=True)
    finally:
        the_link._client = paho.new_client(BrokerAddress("127.0.0.1", 1), "x")
        the_link.stop()
    paho.publish(center, topic, doc, retain=True)  # type: ignore[arg-type]
    assert hall.sent == center.sent == [(topic, paho.encode(doc), True)]
    assert json.loads(hall.sent[0][1]) == doc and "引擎".encode() in hall.sent[0][1]

    # What is received decodes to the same Message, properties included.
    raw = hall.sent[0][1]
    decoded = paho.decode_message(message(topic, raw, correlation=b"\x01\x02"))
    assert decoded == Message(topic, doc, raw, False, None, b"\x01\x02")
    assert paho.decode(topic, b"") == Message(topic, None, b"", False)
    assert paho.decode(topic, b"", empty_ok=False).error_kind

    # With HALL_VALIDATE_CONTRACT=1 a message the contract refuses is not sent, either plane.
    with pytest.raises(ValueError):
        paho.publish(Wire(), topic, {"device": "engine", "status": "asleep"})  # type: ignore[arg-type]
    paho.publish(Wire(), topic, b"not json")  # type: ignore[arg-type]  # raw bytes go as they are


def test_a_hostile_payload_is_dropped_on_the_hall_plane() -> None:
    the_link = link()
    seen: list[Message] = []
    the_link._subs[topics.presence(HALL, "+")] = (1, seen.append)
    before = REJECTS.snapshot()
    try:
        the_link._on_message(the_link._client, None, message(topics.presence(HALL, "k1"), HOSTILE))
        assert the_link._inbox.empty(), "a subscriber saw a hostile message"
        assert counted(before)["too_deep"] == 1
        good = b'{"device":"k1","status":"online"}'
        the_link._on_message(the_link._client, None, message(topics.presence(HALL, "k1"), good))
        item = the_link._inbox.get_nowait()
        assert item is not None
        delivered = item[1]
        assert delivered.payload == {"device": "k1", "status": "online"}
    finally:
        the_link.stop()


def test_a_hostile_payload_is_dropped_on_the_center_plane() -> None:
    center = Center(broker=BrokerAddress("127.0.0.1", 1), hall=HALL)
    health = topics.sync_presence(HALL, "k1")
    before = REJECTS.snapshot()
    try:
        assert center._receive(message(health, HOSTILE)) is None
        assert center.store.status(HALL, "k1", "presence") is None
        assert center._receive(message(topics.sync_events(HALL, "k1"), HOSTILE)) is None
        assert center.bad_batches == 1
        assert counted(before)["too_deep"] == 2
        center._receive(message(health, b'{"device":"k1","status":"online"}'))
        center._save_statuses()  # the end of the center's turn: its health/presence saved
        assert center.store.status(HALL, "k1", "presence") == {"device": "k1", "status": "online"}
    finally:
        center.store.close()


def test_a_hostile_command_is_refused_by_the_agent(tmp_path: Path) -> None:
    agent = SyncAgent(
        db_path=tmp_path / "device.db",
        hall_id=HALL,
        device_id="k1",
        center=BrokerAddress("127.0.0.1", 1),
    )
    wire = Wire()
    reply = topics.sync_reply(HALL, "k1")
    before = REJECTS.snapshot()
    try:
        hostile = message(
            topics.sync_command(HALL, "k1"), HOSTILE, correlation=b"c1", response_topic=reply
        )
        agent._on_message(wire, hostile)  # type: ignore[arg-type]
    finally:
        agent.stop()
    assert counted(before)["too_deep"] == 1
    [(topic, answer, _retain)] = wire.sent
    assert topic == reply and json.loads(answer)["error"]["code"] == "bad_request"
