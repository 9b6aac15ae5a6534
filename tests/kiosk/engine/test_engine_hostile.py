"""The engine survives every hostile command and answers only where the asker may write.

Each hostile payload arrives on a device's own command topic, as the hall's
ACL allows: MQTT v5 with a response topic, and MQTT 3.1.1 with no properties.
Afterwards the engine must answer a normal request within its usual time and
its database must be exactly as before.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hostile import COUNTED_KINDS, HOSTILE, RawPublisher, Recorder, hostile_json, wrong_types
from hypothesis import HealthCheck, given, settings

from kiosk.engine.service import EngineService
from sync import topics
from sync.contract import _document
from sync.inbound import REJECTS
from sync.mqtt import MqttLink

pytestmark = pytest.mark.broker
HALL = "demo-hall"
USUAL_S = 3.0  # a normal request is answered well within this on a loaded machine


def _dump(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def _command_fields() -> dict[str, object]:
    return _document()["components"]["schemas"]["command"]["properties"]


RATE = b'{"cmd":"rate","window":"1","rating":'
WRONG = [
    *wrong_types(_command_fields()),
    ("rating level as text", RATE + b'{"rating_id":"r1","ticket_id":"t1","level":"five"}}'),
    ("rating with an unknown field", RATE + b'{"rating_id":"r1","ticket_id":"t1","x":1}}'),
    ("unknown command", b'{"cmd":"drop_tables"}'),
    ("unknown field", b'{"cmd":"board","sql":"drop"}'),
]


@pytest.fixture
def engine_db(engine_service: EngineService, tmp_path: Path) -> Path:
    return tmp_path / "engine.db"  # where the engine_service fixture keeps it


@pytest.fixture
def asker(device: Callable[..., MqttLink]) -> MqttLink:
    return device("caller-1")


@pytest.fixture
def raw(broker) -> Iterator[Callable[..., RawPublisher]]:
    made: list[RawPublisher] = []

    def make(*, v311: bool = False) -> RawPublisher:
        p = RawPublisher(broker.host, broker.port, v311=v311)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def still_answers(asker: MqttLink) -> None:
    """A normal request is answered, and fast: the engine's loop and dispatcher turn."""
    started = time.monotonic()
    answer = asker.request(topics.command(HALL, "caller-1"), {"cmd": "board"}, timeout=USUAL_S)
    assert answer["ok"], answer
    assert time.monotonic() - started < USUAL_S


def test_every_hostile_command_is_refused_and_the_engine_goes_on(
    engine_service, engine_db, asker, raw, broker
):
    before = _dump(engine_db)
    counted = REJECTS.snapshot()
    reply = topics.reply(HALL, "caller-1")
    v5, v311 = raw(), raw(v311=True)
    for _name, payload in HOSTILE + WRONG:
        v5.publish(
            topics.command(HALL, "caller-1"),
            payload,
            response_topic=reply,
            correlation=uuid.uuid4().bytes,
        )
        v311.publish(topics.command(HALL, "caller-1"), payload)
        still_answers(asker)
    assert _dump(engine_db) == before, "a refused command changed the engine's database"
    after = REJECTS.snapshot()
    for kind in COUNTED_KINDS:
        assert after.get(kind, 0) > counted.get(kind, 0), f"no {kind} rejection was counted"


def test_a_hostile_request_with_a_response_topic_gets_a_clear_error(engine_service, broker, raw):
    rec = Recorder(broker.host, broker.port, topics.reply(HALL, "caller-1"))
    try:
        v5 = raw()
        wanted = {}
        for name, payload in HOSTILE + WRONG:
            correlation = uuid.uuid4().bytes
            wanted[correlation] = name
            v5.publish(
                topics.command(HALL, "caller-1"),
                payload,
                response_topic=topics.reply(HALL, "caller-1"),
                correlation=correlation,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(rec.live()) < len(wanted):
            time.sleep(0.05)
        answers = rec.live()
        assert len(answers) == len(wanted), f"{len(answers)} answers to {len(wanted)} requests"
        for _topic, body in answers:
            answer = json.loads(body)
            assert answer["ok"] is False
            assert answer["error"]["code"] in ("bad_request", "unauthorised"), answer
            assert answer["error"]["message_zh"], "no Chinese message for the screen"
    finally:
        rec.close()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=hostile_json())
def test_generated_payloads_never_stop_the_engine(engine_service, engine_db, asker, raw, payload):
    before = _dump(engine_db)
    raw().publish(
        topics.command(HALL, "caller-1"),
        payload,
        response_topic=topics.reply(HALL, "caller-1"),
        correlation=b"hypothesis",
    )
    still_answers(asker)
    assert _dump(engine_db) == before


FOREIGN = [
    ("another device's reply", lambda: topics.reply(HALL, "caller-2")),
    ("another device's command topic", lambda: topics.command(HALL, "caller-2")),
    ("its own command topic", lambda: topics.command(HALL, "caller-1")),
    ("window 1's retained state", lambda: topics.window_state(HALL, "1")),
    ("the board", lambda: topics.board(HALL)),
    ("window 1's call announcements", lambda: topics.call(HALL, "1")),
    ("the catalogue", lambda: topics.catalog(HALL)),
    ("another hall", lambda: topics.reply("other-hall", "caller-1")),
    ("a wildcard", lambda: "hall/demo-hall/dev/caller-1/#"),
]


@pytest.mark.parametrize(("label", "target"), FOREIGN, ids=[f[0] for f in FOREIGN])
def test_no_answer_lands_outside_the_askers_subtree(
    engine_service, engine_db, asker, raw, broker, label, target
):
    topic = target()
    watch = topic if "#" not in topic else topics.command(HALL, "caller-1")
    rec = Recorder(broker.host, broker.port, watch)
    try:
        still_answers(asker)  # retained messages on the watched topic have arrived by now
        seen = rec.live()
        before = _dump(engine_db)
        counted = REJECTS.snapshot().get("foreign_response_topic", 0)
        # a read and a change, each naming the foreign topic
        for payload in (b'{"cmd":"window_view"}', b'{"cmd":"login","clerk":"S001"}'):
            raw().publish(
                topics.command(HALL, "caller-1"),
                payload,
                response_topic=topic,
                correlation=b"c1",
            )
        still_answers(asker)  # one dispatcher: the foreign requests were handled before this
        published = [body for t, body in rec.live()[len(seen) :] if b'"ok"' in body]
        assert published == [], f"an answer was published on {topic}"
        assert REJECTS.snapshot().get("foreign_response_topic", 0) >= counted + 2
        assert _dump(engine_db) == before, "a refused request ran"
    finally:
        rec.close()
