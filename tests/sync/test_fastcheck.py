"""The compiled fast path of the contract check (sync/fastcheck.py) refuses exactly what
the contract refuses, with the same reason: hostile batches, health and presence."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest
from clerks import DEMO_PIN
from hostile import HOSTILE, hostile_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync import contract, fastcheck, inbound
from sync.contract import _document

HALL = "h1"
EVENTS = f"hall/{HALL}/dev/d1/sync/events"
HEALTH = f"hall/{HALL}/dev/d1/sync/health"
PRESENCE = f"hall/{HALL}/dev/d1/sync/presence"


def _batch(n: int = 3) -> dict[str, Any]:
    return {
        "hall": HALL,
        "device": "d1",
        "stream": str(uuid.uuid4()),
        "prev": 0,
        "base": 0,
        "sent_at": "2026-11-23T09:30:00",
        "events": [
            {
                "id": str(uuid.uuid4()),
                "seq": k + 1,
                "kind": "ticket_issued",
                "ts": "2026-11-23T09:29:58",
                "data": {"code": f"A{k:03d}", "queue": "A"},
            }
            for k in range(n)
        ],
    }


def _health() -> dict[str, Any]:
    return {
        "hall": HALL,
        "device": "d1",
        "role": "kiosk",
        "ts": "2026-11-23T09:30:00",
        "versions": {"hall-edge": "1.0"},
        "uptime_s": 12.5,
        "disk": {"path": "/var/lib/hall", "free_bytes": 10, "total_bytes": 20},
        "components": {"printer": {"status": "ok"}},
        "outbox": {"events": 3, "first_seq": None},
        "alarms": [],
    }


def _outcome(check: Any, topic: str, raw: bytes) -> tuple[str, str] | dict[str, Any]:
    try:
        return dict(check(topic, raw))
    except inbound.Rejected as exc:
        return (exc.kind, exc.reason)


def _same(topic: str, payload: Any) -> None:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    assert _outcome(fastcheck.check, topic, raw) == _outcome(inbound.check, topic, raw)


# One change at a time to a valid message: what a broken or hostile device sends.
BATCH_CHANGES: list[tuple[str, Any]] = [
    ("", None),
    ("extra", ("x", 1)),
    ("hall", ""),
    ("hall", "a/b"),
    ("hall", "x" * 65),
    ("device", 7),
    ("stream", "not-a-uuid"),
    ("stream", str(uuid.uuid4()).upper()),
    ("stream", str(uuid.uuid4()) + "\n"),
    ("prev", -1),
    ("prev", True),
    ("prev", 1.0),
    ("prev", 1.5),
    ("prev", "1"),
    ("base", None),
    ("sent_at", "x" * 41),
    ("sent_at", 5),
    ("events", {}),
    ("events", [1]),
    ("events", []),
    ("-hall", None),
    ("-events", None),
    ("-sent_at", None),
    ("e.id", "1234"),
    ("e.seq", -3),
    ("e.seq", False),
    ("e.seq", 2.0),
    ("e.kind", "Ticket"),
    ("e.kind", "k" * 41),
    ("e.kind", ""),
    ("e.ts", ["x"]),
    ("e.data", [1, 2]),
    ("e.data", "text"),
    ("e.data", None),
    ("e.extra", ("x", 1)),
    ("-e.data", None),
    ("-e.id", None),
]


@pytest.mark.parametrize(("field", "value"), BATCH_CHANGES, ids=lambda v: repr(v)[:30])
def test_a_changed_batch_is_refused_exactly_when_the_contract_refuses_it(field, value):
    payload = _batch()
    target = payload
    if field.lstrip("-").startswith("e."):
        target = payload["events"][1]
        field = field.replace("e.", "")
    if field.startswith("-"):
        del target[field[1:]]
    elif field == "extra":
        target[value[0]] = value[1]
    elif field:
        target[field] = value
    _same(EVENTS, payload)


def test_a_valid_batch_passes_the_fast_path_without_the_full_validator(monkeypatch):
    def refuse(*_a: Any) -> str:
        raise AssertionError("the full validator was used")

    monkeypatch.setattr("sync.contract.validate", refuse)
    assert fastcheck.check(EVENTS, json.dumps(_batch(40)).encode())["events"][39]["seq"] == 40
    fastcheck.check(HEALTH, json.dumps(_health()).encode())
    fastcheck.check(PRESENCE, json.dumps({"device": "d1", "status": "online"}).encode())


@pytest.mark.parametrize("kind", ["extra", "status", "outbox", "uptime", "components", "alarms"])
def test_a_changed_health_or_presence_is_refused_as_the_contract_says(kind):
    health = _health()
    presence: dict[str, Any] = {"device": "d1", "status": "online"}
    if kind == "extra":
        health["x"] = 1
        presence["x"] = 1
    elif kind == "status":
        presence["status"] = "away"
        health["components"]["printer"]["status"] = "s" * 41
    elif kind == "outbox":
        health["outbox"] = {"events": -1}
    elif kind == "uptime":
        health["uptime_s"] = True
        presence["status"] = 1
    elif kind == "components":
        health["components"]["reader"] = {"detail": "no status"}
    elif kind == "alarms":
        health["alarms"] = [1]
        presence["device"] = ""
    _same(HEALTH, health)
    _same(PRESENCE, presence)


@pytest.mark.parametrize(("_name", "raw"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_payloads_are_refused_as_by_the_inbound_check(_name, raw):
    for topic in (EVENTS, HEALTH, PRESENCE):
        _same(topic, raw)


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=70),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


FIELDS = [
    *("hall", "device", "stream", "prev", "base", "sent_at", "events", "id", "seq", "kind"),
    *("ts", "data", "status", "detail", "first_seq", "uptime_s", "versions", "zz"),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    where=st.sampled_from(["batch", "event", "health", "outbox", "component"]),
    name=st.sampled_from(FIELDS),
    value=_values,
)
def test_generated_changes_are_refused_exactly_as_the_contract_says(where, name, value):
    batch, health = _batch(2), copy.deepcopy(_health())
    target = {
        "batch": batch,
        "event": batch["events"][0],
        "health": health,
        "outbox": health["outbox"],
        "component": health["components"]["printer"],
    }[where]
    target[name] = value
    _same(EVENTS, batch)
    _same(HEALTH, health)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=hostile_json())
def test_generated_hostile_json_is_refused_as_by_the_inbound_check(raw):
    for topic in (EVENTS, HEALTH, PRESENCE):
        _same(topic, raw)


def test_every_channel_of_the_contract_is_either_compiled_or_left_to_the_full_validator():
    channels = _document()["channels"]
    compiled = {name for name in channels if fastcheck.channel_check(name) is not None}
    assert {"syncEvents", "syncHealth", "syncPresence"} <= compiled


PARSE_CASES = [
    b'{"a":' + b"1" * 41 + b"}",
    b'{"a":-' + b"1" * 40 + b"}",
    b'{"a":1.' + b"0" * 45 + b"}",
    b'{"a":"' + b"1" * 80 + b'"}',
    b'{"a":' + b"[" * 40 + b"]" * 40 + b"}",
    b'{"a":' + b"[" * 31 + b"]" * 31 + b"}",
    b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}',
    b'{"a":1e999}',
    b'{"a":NaN}',
    b'{"a":-Infinity}',
    b'{"a":"\\ud800"}',
    b'{"a":"\\u00e9"}',
    b"[1]",
    b'"text"',
    b"\xff\xfe",
    b'{"a":1,}',
    b"{" * 100000,
]


@pytest.mark.parametrize("raw", PARSE_CASES, ids=lambda r: repr(r)[:40])
def test_the_fast_parse_refuses_what_the_inbound_parse_refuses_with_its_reason(raw):
    def outcome(parse: Any) -> Any:
        try:
            return parse(raw, limit=64 * 1024)
        except inbound.Rejected as exc:
            return (exc.kind, exc.reason)

    assert outcome(fastcheck.parse) == outcome(inbound.parse)


# -- the hall plane: window states, the board and commands take the same fast path ------


def _hall_plane_samples(tmp_path: Any) -> dict[str, dict[str, Any]]:
    """A window state and the board as the engine publishes them (a ticket called at
    window 1, others waiting), and a clerk's command."""
    from datetime import datetime
    from pathlib import Path

    from hall.core.clock import FakeClock
    from kiosk.engine.config import load_hall_config
    from kiosk.engine.engine import QueueEngine
    from kiosk.engine.service import catalog_payload

    demo = Path(__file__).resolve().parents[2] / "assets" / "halls" / "demo.yaml"
    engine = QueueEngine(
        load_hall_config(demo), tmp_path / "e.db", clock=FakeClock(datetime(2026, 11, 23, 9, 30))
    )
    for item in ("hj-proof", "rs-card", "hj-proof"):
        engine.issue(item_id=item, masked_name="张*三", person_key=f"k{item}{uuid.uuid4()}")
    assert engine.login("1", "1001", DEMO_PIN) is None  # None: logged in
    engine.call_next("1")
    hall = engine.config.hall_id
    state = {"hall": hall, **engine.window_view("1"), "updated_at": "2026-11-23T09:30:00+08:00"}
    catalog = json.loads(json.dumps(catalog_payload(engine.config, engine.clock.now())))
    board = {"hall": hall, **engine.board_view(), "updated_at": "2026-11-23T09:30:00+08:00"}
    engine.close()
    return {
        f"hall/{hall}/window/1/state": state,
        f"hall/{hall}/board": board,
        f"hall/{hall}/catalog": catalog,
        f"hall/{hall}/dev/caller-1/cmd": {"cmd": "call_next", "window": "1"},
    }


def test_hall_plane_channels_are_compiled():
    compiled = {n for n in _document()["channels"] if fastcheck.channel_check(n) is not None}
    assert {"windowState", "board", "command", "catalog"} <= compiled


def test_a_one_of_is_compiled_only_when_no_value_can_be_of_two_branches():
    doc: dict[str, Any] = {"components": {"schemas": {"ts": {"type": "string", "minLength": 3}}}}
    either = fastcheck.compile_schema(
        {"oneOf": [{"$ref": "#/components/schemas/ts"}, {"type": "null"}]}, doc
    )
    assert either(None) and either("2026")
    assert not either("ab") and not either(5)  # not sure: the full validator decides
    for overlapping in (
        [{"type": "integer"}, {"type": "number"}],
        [{"type": "string"}, {"minLength": 2}],  # a branch of any type
        [{"type": ["string", "null"]}, {"type": "null"}],
    ):
        with pytest.raises(fastcheck.Unsupported):
            fastcheck.compile_schema({"oneOf": overlapping}, doc)


def test_hall_plane_messages_are_refused_exactly_as_the_contract_says(tmp_path):
    samples = _hall_plane_samples(tmp_path)
    rng = __import__("random").Random(15)
    values = [None, True, 0, 1, -1, 2**70, 1.0, 1.5, "", "x" * 300, [], [1], {}, {"a": 1}]
    for topic, sample in samples.items():
        _same(topic, sample)  # as it is: valid
        channel = fastcheck.channel_check(contract.channel_for(topic) or "")
        assert channel is not None and channel(sample)  # a valid one: the fast path alone
        for _ in range(300):  # one field changed, at the top or one level down
            changed = copy.deepcopy(sample)
            target = changed
            nested = [k for k, v in changed.items() if isinstance(v, dict)]
            if nested and rng.random() < 0.4:
                target = changed[rng.choice(nested)]
            keys = [*target, "zz"]
            target[rng.choice(keys)] = rng.choice(values)
            _same(topic, changed)


def test_what_the_contract_computes_once_is_computed_once_when_threads_need_it_together():
    """A process of 100 simulated devices got its first confirmations together: each
    agent's thread parsed the whole contract (a second of CPU each under the GIL) and
    the process missed its keepalives.  The threads wait for one computation."""
    import threading
    import time

    runs: list[int] = []

    @contract.computed_once
    def load() -> int:
        runs.append(1)
        time.sleep(0.05)  # a long computation: the other threads arrive meanwhile
        return len(runs)

    start = threading.Barrier(20)
    got: list[int] = []

    def need() -> None:
        start.wait(5)
        got.append(load())

    threads = [threading.Thread(target=need) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert runs == [1] and got == [1] * 20
