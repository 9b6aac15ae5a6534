"""Hostile payloads and a raw publisher, for the tests that every role survives them.

``HOSTILE`` holds the hand-picked inputs of issue #10 (each a name and the
bytes); :func:`hostile_json` is a hypothesis strategy of arbitrary JSON-ish
byte strings; :class:`RawPublisher` publishes bytes as MQTT v5 (optionally
with a response topic and correlation data) or as MQTT 3.1.1 with no
properties at all, the way a broken or hostile device would.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

DEPTH = 3000


def _with(field: str, raw_value: bytes, cmd: str = "board") -> bytes:
    return b'{"cmd":"' + cmd.encode() + b'","' + field.encode() + b'":' + raw_value + b"}"


HOSTILE: list[tuple[str, bytes]] = [
    ("deep list", b"[" * DEPTH + b"]" * DEPTH),
    ("deep list in 4 KB", b"[" * 2000 + b"]" * 2000),
    ("deep object in 4 KB", b'{"a":' * 700 + b"1" + b"}" * 700),
    ("3000-digit integer in 4 KB", _with("x", b"9" * 3000)),
    ("deep object", b'{"a":' * DEPTH + b"1" + b"}" * DEPTH),
    ("deep inside a command", _with("x", b"[" * DEPTH + b"]" * DEPTH)),
    ("5000-digit integer", _with("x", b"9" * 5000)),
    ("5000-digit integer at the top", b"9" * 5000),
    ("1e999999", _with("x", b"1e999999")),
    ("NaN", _with("x", b"NaN")),
    ("Infinity", _with("x", b"-Infinity")),
    ("lone surrogate", _with("window", b'"\\ud800"')),
    ("1 MB string", _with("x", b'"' + b"a" * (1 << 20) + b'"')),
    ("null at the top", b"null"),
    ("number at the top", b"42"),
    ("array at the top", b'[{"cmd":"board"}]'),
    ("string at the top", b'"board"'),
    ("not UTF-8", b'{"cmd":"\xff\xfe"}'),
    ("not JSON", b"{cmd: board"),
    ("truncated", b'{"cmd":"bo'),
    ("empty object", b"{}"),
]


def _json_types(prop: dict[str, Any]) -> set[str]:
    """The JSON types a schema property admits (a ``$ref`` or an enum of ours: strings)."""
    kind = prop.get("type")
    if kind is None:
        return {"string"}  # ids, codes, timestamps and enums of the contract are strings
    return set(kind) if isinstance(kind, list) else {kind}


def wrong_types(schema_properties: dict[str, Any]) -> list[tuple[str, bytes]]:
    """For each field of a command, the command with that field of a wrong type."""
    out = []
    for name, prop in schema_properties.items():
        admitted = _json_types(prop)
        for label, value in (("number", 12345), ("object", {"a": 1}), ("array", [1, 2])):
            if label in admitted or (label == "number" and "integer" in admitted):
                continue
            payload = {"cmd": "board", name: value}
            if name == "cmd":
                payload = {"cmd": value}
            out.append((f"{name} as a {label}", json.dumps(payload).encode()))
    return out


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)
_json = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def hostile_json() -> st.SearchStrategy[bytes]:
    """Arbitrary JSON documents (most of them not valid messages) and arbitrary bytes."""
    return st.one_of(
        _json.map(lambda v: json.dumps(v).encode()),
        st.dictionaries(st.sampled_from(["cmd", "window", "queue", "x"]), _json).map(
            lambda v: json.dumps(v).encode()
        ),
        st.binary(max_size=200),
        # past the bounds: nesting and number length that only the bounded scan stops
        st.integers(33, 2000).map(lambda d: b'{"cmd":"board","x":' + b"[" * d + b"]" * d + b"}"),
        st.integers(41, 3000).map(lambda n: b'{"cmd":"board","x":' + b"7" * n + b"}"),
    )


class RawPublisher:
    """A bare paho client: publishes whatever bytes it is given, as v5 or v3.1.1."""

    def __init__(self, host: str, port: int, *, v311: bool = False, client_id: str = "") -> None:
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"hostile-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv311 if v311 else mqtt.MQTTv5,
        )
        self.v311 = v311
        connected = threading.Event()
        self._client.on_connect = lambda *_a: connected.set()
        self._client.connect_async(host, port)  # connect() then loop_start() leaks a socketpair
        self._client.loop_start()
        if not connected.wait(10):
            raise RuntimeError(f"hostile publisher could not connect to {host}:{port}")

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        response_topic: str | None = None,
        correlation: bytes | None = None,
    ) -> None:
        props = None
        if not self.v311 and (response_topic or correlation):
            props = Properties(PacketTypes.PUBLISH)
            if response_topic:
                props.ResponseTopic = response_topic
            if correlation is not None:
                props.CorrelationData = correlation
        info = self._client.publish(topic, payload, qos=1, retain=retain, properties=props)
        info.wait_for_publish(10)
        assert info.is_published(), f"the broker did not take the publish on {topic}"

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        self._client._reset_sockets()  # paho leaves its wake-up socketpair open otherwise


class Recorder:
    """Every message arriving on a topic filter (to prove nothing was published there)."""

    def __init__(self, host: str, port: int, topic_filter: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"recorder-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        subscribed = threading.Event()
        self._client.on_subscribe = lambda *_a: subscribed.set()
        self._client.on_connect = lambda c, *_a: c.subscribe(topic_filter, qos=1)
        self._client.on_message = self._on_message
        self._client.connect_async(host, port)  # connect() then loop_start() leaks a socketpair
        self._client.loop_start()
        if not subscribed.wait(10):
            raise RuntimeError(f"recorder could not subscribe to {topic_filter}")

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload)))

    def live(self) -> list[tuple[str, bytes]]:
        """Everything that arrived so far, retained replays included (slice off a baseline)."""
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        self._client._reset_sockets()  # paho leaves its wake-up socketpair open otherwise
