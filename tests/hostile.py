"""Hostile payloads and a raw publisher, for the tests that every role survives them.

``HOSTILE`` holds the hand-picked inputs of issue #10 (each a name and the
bytes); :func:`hostile_json` is a hypothesis strategy of arbitrary JSON-ish
byte strings; :class:`RawPublisher` publishes bytes as MQTT v5 (optionally
with a response topic and correlation data) or as MQTT 3.1.1 with no
properties at all, the way a broken or hostile device would.

For the apps that subscribe (window side, kiosk): :func:`variants` and the
``wrong_*`` builders make contract-valid-looking messages with one field wrong;
:class:`Storm` sends payloads as both protocols, live and retained (the
``storm`` and ``retained`` fixtures are in conftest.py); :func:`weather` storms
one app and checks that every message was dropped and counted and none reached
it (with :func:`wait_dropped`, :func:`generated` and :func:`assert_counted`);
:func:`assert_calm` checks that nothing was logged loud.  :class:`Picture` and
:class:`LinkWatch` are what an app shows and what its link would change.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pytestqt.exceptions import TimeoutError as QtTimeout

from hall.ui.qt import QImage
from sync import inbound
from sync.inbound import REJECTS

DEPTH = 3000
STORM_WAIT = 20000  # ms: the link has taken (and dropped) every hostile message
# Every kind the hand-picked inputs must be counted as (see sync/inbound.py).
COUNTED_KINDS = (
    "too_deep",
    "number_too_long",
    "non_finite",
    "lone_surrogate",
    "too_large",
    "not_object",
    "not_utf8",
    "not_json",
    "contract",
)
Payloads = list[tuple[str, bytes]]
Changes = Sequence[tuple[str, Any]]  # (field, wrong value or ``...`` for dropped)


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


# --------------------------------------------------------------------------- one field wrong


def variants(base: dict[str, Any], changes: Changes) -> Payloads:
    """``base`` (a valid message) with one field set to a wrong value, or dropped (``...``)."""
    out = []
    for field, value in changes:
        payload = dict(base)
        if value is ...:
            payload.pop(field, None)
            label = f"{field} missing"
        else:
            payload[field] = value
            label = f"{field} = {json.dumps(value, ensure_ascii=False)[:30]}"
        out.append((label, json.dumps(payload, ensure_ascii=False).encode()))
    return out


FORGED_ITEM = {"id": "fake", "name": "伪造事项", "queue": "A"}


def wrong_catalog(catalog: dict[str, Any], more: Changes = ()) -> Payloads:
    """The engine's catalogue with one field wrong, and with each of a role's ``more``
    changes; several would empty or forge an app's screens if taken (no items, a
    forged item, a closed hall)."""
    return variants(
        catalog,
        [
            ("queues", "x"),
            ("queues", [{"id": "A", "name": "综合"}]),  # no prefix
            ("items", {}),
            ("items", [{"id": 1, "name": "x", "queue": "A"}]),
            ("items", [{**FORGED_ITEM, "materials": 5}]),
            ("items", [{**FORGED_ITEM, "requires_id": "no"}]),
            ("version", "1"),
            ("version", None),
            ("hall_name", None),
            ("notices", [None]),
            ("windows", [1, 2]),
            ("windows", [{"name": "没有编号的窗口"}]),
            ("hours", []),
            ("hours", {"sessions": 5}),
            ("hours", {"sessions": [["09:00"]]}),
            ("hours", {"weekdays": [8, 9, 10]}),
            ("items", ...),
            ("injected", 1),
            *more,
        ],
    )


def wrong_board(board: dict[str, Any], queue: dict[str, Any], more: Changes = ()) -> Payloads:
    """The engine's board with one field wrong, and with each of ``more``; ``queue`` is
    a valid row of ``queues`` (one the app would show) that the wrong rows are made of."""
    nameless = {k: v for k, v in queue.items() if k != "name"}
    return variants(
        board,
        [
            ("queues", "x"),
            ("queues", [1]),
            ("queues", [{**queue, "waiting": str(queue["waiting"])}]),
            ("queues", [{**queue, "waiting": -5}]),
            ("queues", [nameless]),  # no name
            ("recent_calls", "A001"),
            ("recent_calls", [{"code": 5, "window": "1"}]),
            ("notices", "通知"),
            ("hall_name", None),
            ("updated_at", {}),
            ("queues", ...),
            ("injected", True),
            *more,
        ],
    )


def must_reject(topic: str, raw: bytes) -> bool:
    """Does the link drop (and count) ``raw`` on ``topic``?  An empty payload (a cleared
    retained message) is neither an error nor a state."""
    if not raw:
        return False
    try:
        inbound.check(topic, raw)
    except inbound.Rejected:
        return True
    return False


# --------------------------------------------------------------------------- the storm


class Storm:
    """Two hostile devices on the hall LAN: one speaking MQTT 5, one MQTT 3.1.1."""

    def __init__(self, host: str, port: int) -> None:
        self.v5 = RawPublisher(host, port)
        self.v311 = RawPublisher(host, port, v311=True)

    def send(self, topic: str, payloads: Payloads, *, reply_to: str | None = None) -> int:
        """Every payload as v5 and v3.1.1, live and retained; returns how many a
        subscriber must drop (each one was made to be dropped).  ``reply_to``: the v5
        ones are dressed as requests, with that response topic and correlation data."""
        dropped = 0
        for name, raw in payloads:
            assert must_reject(topic, raw), f"{name!r} on {topic} is valid: not a hostile input"
            for retain in (False, True):
                correlation = uuid.uuid4().bytes if reply_to else None
                self.v5.publish(
                    topic, raw, retain=retain, response_topic=reply_to, correlation=correlation
                )
                self.v311.publish(topic, raw, retain=retain)
                dropped += 2
        return dropped

    def close(self) -> None:
        self.v5.close()
        self.v311.close()


def total() -> int:
    """Messages dropped so far in this process (sync.inbound.REJECTS), not internal errors."""
    return sum(n for kind, n in REJECTS.snapshot().items() if kind != "internal")


def wait_dropped(qtbot: Any, since: int, count: int) -> str:
    """Until the links dropped ``count`` more messages: every hostile one has been handled
    (a dropped message never reaches the dispatcher, so nothing of it is still queued).
    Returns what went wrong, or "": the caller checks the screen first."""
    try:
        qtbot.waitUntil(lambda: total() - since >= count, timeout=STORM_WAIT)
    except QtTimeout:
        return (
            f"only {total() - since} of {count} hostile messages were dropped and counted "
            f"within {STORM_WAIT / 1000:.0f}s (counts now: {REJECTS.snapshot()})"
        )
    return ""


def assert_counted(before: dict[str, int], *, kinds: tuple[str, ...] = COUNTED_KINDS) -> None:
    """Since ``before``: a rejection of every one of ``kinds`` counted, no receive raised."""
    after = REJECTS.snapshot()
    for kind in kinds:
        assert after.get(kind, 0) > before.get(kind, 0), f"no {kind} rejection was counted"
    assert after.get("internal", 0) == before.get("internal", 0), "a receive raised (internal)"


def generated(
    qtbot: Any,
    storm: Storm,
    on: list[str],
    looks: Callable[[], Any],
    expected: Any,
    watch: LinkWatch,
) -> None:
    """A few generated payloads onto every topic in ``on``, one app reused across examples;
    after each the app must look exactly as ``expected``."""

    @settings(
        max_examples=6,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(payload=hostile_json(), v311=st.booleans(), retain=st.booleans())
    def example(payload: bytes, v311: bool, retain: bool) -> None:
        assume(all(must_reject(t, payload) for t in on) or not payload)
        since = total()
        publisher = storm.v311 if v311 else storm.v5
        for topic in on:
            publisher.publish(topic, payload, retain=retain)
        missing = wait_dropped(qtbot, since, len(on) if payload else 0)
        assert looks() == expected, f"the app changed after {payload[:60]!r}"
        assert watch.reached() == [], "a hostile message reached a handler"
        assert not missing, missing

    example()


def weather(
    qtbot: Any,
    storm: Storm,
    caplog: Any,
    qtlink: Any,
    looks: Callable[[], Any],
    sends: dict[str, Payloads],
    changed: str,
) -> LinkWatch:
    """The storm an app must weather: every payload of ``sends`` (topic: payloads) as
    :meth:`Storm.send` sends it, then :func:`generated` ones on the same topics.  After
    each the app ``looks`` as before (``changed``: the failure's message), nothing reached
    a handler of its link ``qtlink``, and every message was dropped; in all, every kind was
    counted and no receive raised.  Clears ``caplog`` first; returns the app's
    :class:`LinkWatch` for the checks at the end (``assert_untouched``)."""
    before = looks()
    watch = LinkWatch(qtlink)
    counted, since = REJECTS.snapshot(), total()
    caplog.clear()
    n = sum(storm.send(topic, payloads) for topic, payloads in sends.items())
    missing = wait_dropped(qtbot, since, n)
    assert looks() == before, changed
    assert watch.reached() == [], "a hostile message reached a handler"
    assert not missing, missing
    generated(qtbot, storm, list(sends), looks, before, watch)
    assert_counted(counted)
    return watch


# --------------------------------------------------------------------------- the app and its link


class LinkWatch:
    """What a restart or a reconnect of an app's link would change, and what it hands on."""

    def __init__(self, qtlink: Any) -> None:
        self.qtlink = qtlink
        self.network = qtlink.link._client._thread
        self.dispatcher = qtlink.link._dispatcher
        self.changes: list[bool] = []
        qtlink.connection_changed.connect(self.changes.append)
        self.messages: list[Any] = []  # what the link handed on to the app's handlers
        qtlink._message.connect(lambda _callback, message: self.messages.append(message))

    def reached(self) -> list[str]:
        """The messages that reached a handler of the app, but for empty ones (a cleared
        retained message): a hostile one must never."""
        return [f"{m.topic}: {m.raw[:60]!r}" for m in self.messages if m.payload is not None]

    def assert_untouched(self) -> None:
        link = self.qtlink.link
        assert link.alive(), "the link's network or dispatcher thread ended"
        assert link._client._thread is self.network, "paho's network thread was restarted"
        assert link._dispatcher is self.dispatcher, "the dispatcher thread was restarted"
        assert link.connected.is_set(), "the link is not connected"
        assert self.changes == [], f"the connection went down and up: {self.changes}"


def assert_calm(caplog: Any) -> None:
    """No ERROR and no traceback was logged, and no link lost its connection."""
    loud = [
        f"{r.name} {r.levelname}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR or r.exc_info
    ]
    assert loud == [], "\n".join(loud)
    lost = [r.getMessage() for r in caplog.records if "lost the broker" in r.getMessage()]
    assert lost == [], lost


class Picture:
    """What a person sees, compared as a person would: the same picture, whatever the
    anti-aliasing noise of a glyph drawn twice (a few levels of one channel)."""

    TOLERANCE = 48  # of 255, per channel; a changed text differs by far more

    def __init__(self, widget: Any) -> None:
        image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
        self.size = (image.width(), image.height())
        self.stride = image.bytesPerLine()
        self.data = bytes(image.constBits())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Picture) or self.size != other.size:
            return False
        if self.data == other.data:
            return True
        s = self.stride
        for row in range(self.size[1]):
            a, b = self.data[row * s : (row + 1) * s], other.data[row * s : (row + 1) * s]
            if a != b and max(abs(x - y) for x, y in zip(a, b, strict=True)) > self.TOLERANCE:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<what the screen shows, {self.size[0]}x{self.size[1]}>"
