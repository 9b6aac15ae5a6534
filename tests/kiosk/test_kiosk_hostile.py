"""The kiosk survives hostile messages on the catalogue and the board (issue #10).

The real kiosk (real engine, real Mosquitto, printer and ID reader simulators)
subscribes to ``hall/{hall}/catalog`` and ``hall/{hall}/board``.  Every input of
``hostile.HOSTILE``, a few generated ones and contract-valid-looking catalogues
and boards with one field wrong (built from the engine's own retained messages,
so a kiosk that took one would show it) go onto both, as MQTT 5 and MQTT 3.1.1,
retained and not.  Afterwards the kiosk shows the valid catalogue exactly as
before, a citizen takes a ticket with two taps and gets it printed, the board's
next waiting count appears, every rejection was counted, and the kiosk's link
neither reconnected nor logged a traceback.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hostile import HOSTILE, RawPublisher, Recorder, hostile_json
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pytestqt.exceptions import TimeoutError as QtTimeout

from hall.qt import QImage
from sync import inbound, topics
from sync.inbound import REJECTS

pytestmark = pytest.mark.broker
HALL = "demo-hall"
WAIT = 8000  # ms, as the kiosk's other tests
STORM_WAIT = 20000  # ms: the link has taken (and dropped) every hostile message
GB = "gb18030"
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


# --------------------------------------------------------------------------- payloads


def _variants(base: dict[str, Any], changes: list[tuple[str, Any]]) -> Payloads:
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


def wrong_catalog(catalog: dict[str, Any]) -> Payloads:
    """The engine's catalogue with one field wrong; several would empty or forge the
    kiosk's screens if taken (no items, a forged item, a closed hall)."""
    item = {"id": "fake", "name": "伪造事项", "queue": "A"}
    return _variants(
        catalog,
        [
            ("queues", "x"),
            ("queues", [{"id": "A", "name": "综合"}]),  # no prefix
            ("queues", [{"id": 1, "name": "综合", "prefix": "A"}]),
            ("items", {}),
            ("items", [{"id": 1, "name": "x", "queue": "A"}]),
            ("items", [{**item, "materials": 5}]),
            ("items", [{**item, "requires_id": "no"}]),
            ("items", [{**item, "legal_days": "3"}]),
            ("items", [{"id": "fake", "queue": "A"}]),  # no name
            ("version", "1"),
            ("version", None),
            ("version", 1.5),
            ("hall_name", None),
            ("hall_name", ["示范"]),
            ("issuing", "no"),
            ("notices", [None]),
            ("windows", [1, 2]),
            ("windows", [{"name": "没有编号的窗口"}]),
            ("hours", []),
            ("hours", {"sessions": 5}),
            ("hours", {"sessions": [["09:00"]]}),
            ("hours", {"sessions": [["9点", "12点"]]}),
            ("hours", {"weekdays": [8, 9, 10]}),
            ("items", ...),
            ("hall", ...),
            ("injected", 1),
        ],
    )


def wrong_board(board: dict[str, Any]) -> Payloads:
    return _variants(
        board,
        [
            ("queues", "x"),
            ("queues", [1]),
            ("queues", [{"id": "D", "name": "公积金", "waiting": "99"}]),
            ("queues", [{"id": "D", "name": "公积金", "waiting": -5}]),
            ("queues", [{"id": "D", "name": "公积金", "waiting": 99, "est_wait_min": "long"}]),
            ("queues", [{"id": "D", "waiting": 99}]),  # no name
            ("recent_calls", "A001"),
            ("recent_calls", [{"code": 5, "window": "1"}]),
            ("notices", "通知"),
            ("hall_name", None),
            ("updated_at", {}),
            ("queues", ...),
            ("injected", True),
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

    def send(self, topic: str, payloads: Payloads, *, as_requests: bool = False) -> int:
        """Every payload as v5 and v3.1.1, live and retained; returns how many the kiosk
        must drop.  ``as_requests``: the v5 ones carry a response topic and correlation."""
        dropped = 0
        for name, raw in payloads:
            assert must_reject(topic, raw), f"{name!r} on {topic} is valid: not a hostile input"
            for retain in (False, True):
                if as_requests:
                    self.v5.publish(
                        topic,
                        raw,
                        retain=retain,
                        response_topic=topics.reply(HALL, "kiosk-1"),
                        correlation=uuid.uuid4().bytes,
                    )
                else:
                    self.v5.publish(topic, raw, retain=retain)
                self.v311.publish(topic, raw, retain=retain)
                dropped += 2
        return dropped

    def close(self) -> None:
        self.v5.close()
        self.v311.close()


@pytest.fixture
def storm(broker: Any) -> Iterator[Storm]:
    s = Storm(broker.host, broker.port)
    yield s
    s.close()


@pytest.fixture
def retained(broker: Any) -> Callable[[str], dict[str, Any]]:
    """``retained(topic)``: the engine's retained message there now (decoded)."""

    def get(topic: str) -> dict[str, Any]:
        rec = Recorder(broker.host, broker.port, topic)
        try:
            deadline = time.monotonic() + WAIT / 1000
            while not rec.messages and time.monotonic() < deadline:
                time.sleep(0.01)
            assert rec.messages, f"nothing retained on {topic}"
            payload: dict[str, Any] = json.loads(rec.messages[-1][1])
            return payload
        finally:
            rec.close()

    return get


def total() -> int:
    """Messages dropped so far in this process (sync.inbound.REJECTS), not internal errors."""
    return sum(n for kind, n in REJECTS.snapshot().items() if kind != "internal")


def wait_dropped(qtbot: Any, since: int, count: int) -> str:
    """Until the kiosk's link dropped ``count`` more messages (a dropped message never
    reaches the dispatcher, so nothing of it is still queued).  Returns what went
    wrong, or "": the test checks the screen first."""
    try:
        qtbot.waitUntil(lambda: total() - since >= count, timeout=STORM_WAIT)
    except QtTimeout:
        return (
            f"only {total() - since} of {count} hostile messages were dropped and counted "
            f"within {STORM_WAIT / 1000:.0f}s (counts now: {REJECTS.snapshot()})"
        )
    return ""


def assert_counted(before: dict[str, int]) -> None:
    after = REJECTS.snapshot()
    for kind in COUNTED_KINDS:
        assert after.get(kind, 0) > before.get(kind, 0), f"no {kind} rejection was counted"
    assert after.get("internal", 0) == before.get("internal", 0), "a receive raised (internal)"


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


class LinkWatch:
    """What a restart or a reconnect of the kiosk's link would change, and what it hands on."""

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


# --------------------------------------------------------------------------- the kiosk


def test_the_kiosk_keeps_the_valid_catalogue_and_issues_tickets_through_a_storm(
    kiosk, storm, retained, caplog, engine_service
):
    caplog.set_level(logging.INFO)
    window, qtbot = kiosk.window, kiosk.qtbot
    config = engine_service.engine.config
    assert window.catalog.hall_name == config.hall_name
    assert "住房公积金个人账户查询" in kiosk.texts()

    def looks() -> tuple[Any, ...]:
        return (
            window.catalog,
            window.loads,
            window.screen_name,
            kiosk.texts(),
            window.link_up,
            Picture(window),
        )

    before = looks()
    watch = LinkWatch(window.link)
    counted, since = REJECTS.snapshot(), total()
    caplog.clear()
    catalog_topic, board_topic = topics.catalog(HALL), topics.board(HALL)
    n = storm.send(catalog_topic, HOSTILE + wrong_catalog(retained(catalog_topic)))
    n += storm.send(board_topic, HOSTILE + wrong_board(retained(board_topic)))
    missing = wait_dropped(qtbot, since, n)
    assert looks() == before, "the kiosk changed: a hostile message reached its screens"
    assert watch.reached() == [], "a hostile message reached a handler"
    assert not missing, missing

    @settings(
        max_examples=6,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(payload=hostile_json(), v311=st.booleans(), retain=st.booleans())
    def generated(payload: bytes, v311: bool, retain: bool) -> None:
        on = [catalog_topic, board_topic]
        assume(all(must_reject(t, payload) for t in on) or not payload)
        since = total()
        for topic in on:
            (storm.v311 if v311 else storm.v5).publish(topic, payload, retain=retain)
        missing = wait_dropped(qtbot, since, len(on) if payload else 0)
        assert looks() == before, f"the kiosk changed after {payload[:60]!r}"
        assert watch.reached() == [], "a hostile message reached a handler"
        assert not missing, missing

    generated()  # one kiosk for every example
    assert_counted(counted)

    # The catalogue shown is the engine's, and a citizen takes a ticket in two taps.
    assert window.catalog.version == config.version
    assert window.catalog.hall_name == config.hall_name
    assert {i.id for i in window.catalog.items} == {i.id for i in config.items}
    kiosk.tap("common-gjj-query")
    kiosk.wait_screen("guide")
    kiosk.tap("take")
    kiosk.wait_screen("ticket")
    data = kiosk.wait_printed()
    assert b"D001" in data and "住房公积金个人账户查询".encode(GB) in data
    assert [r["code"] for r in kiosk.tickets()] == ["D001"]
    qtbot.waitUntil(lambda: window.loads["D"].waiting == 1, timeout=WAIT)  # the next board
    watch.assert_untouched()
    assert_calm(caplog)


def test_the_kiosks_link_restarts_nothing_and_logs_no_traceback(kiosk, storm, caplog):
    """The whole storm, the v5 half dressed as requests (response topic, correlation
    data): the kiosk's link keeps its threads and connection and logs no traceback."""
    caplog.set_level(logging.DEBUG)
    window, qtbot = kiosk.window, kiosk.qtbot
    watch = LinkWatch(window.link)
    counted, since = REJECTS.snapshot(), total()
    caplog.clear()
    n = sum(
        storm.send(topic, HOSTILE, as_requests=True)
        for topic in (topics.catalog(HALL), topics.board(HALL))
    )
    missing = wait_dropped(qtbot, since, n)
    assert watch.reached() == [], "a hostile message reached a handler"
    assert not missing, missing
    assert_counted(counted)
    watch.assert_untouched()
    assert_calm(caplog)
    link_warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name in ("sync.mqtt", "hall.qtlink", "kiosk.app") and r.levelno >= logging.WARNING
    ]
    assert link_warnings == [], link_warnings
    kiosk.tap("common-rs-proof")
    kiosk.tap("take")
    kiosk.wait_screen("ticket")
    assert b"B001" in kiosk.wait_printed()
