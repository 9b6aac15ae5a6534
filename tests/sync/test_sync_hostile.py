"""The sync agent and the center survive every hostile message (issue #10).

Downlink: hostile payloads reach a device's sync agent on every topic it
subscribes to (its command topic, MQTT v5 with a response topic and MQTT 3.1.1
without properties; its own and the hall's retained config; ack and resend).
Afterwards the agent answers a normal ``health`` within its usual time, its
heartbeat counts what it dropped by kind, an event written after the storm
reaches the center, the applied config is exactly as before, and every
malformed command that named a response topic got a ``bad_request`` there.

A command naming a response topic outside the device's own subtree is refused:
nothing is published there and the command does not run.

Center: hostile payloads published retained on devices' own ``sync/health``,
``sync/presence`` and ``sync/events``; valid batches are stored afterwards, and
again after a restart on the same store, when the broker replays the retained
hostile messages to the new center; the store is unchanged by them.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from hostile import COUNTED_KINDS, HOSTILE, RawPublisher, Recorder, hostile_json, wrong_types
from hypothesis import HealthCheck, given, settings
from sync_helpers import FAST, HALL, ROOT, DeviceDb, wait_for

from kiosk.engine.config import check_hall_document
from sync import inbound, topics
from sync.agent import SyncAgent
from sync.broker import Mosquitto
from sync.center import Center
from sync.client import BrokerAddress
from sync.commands import CommandRegistry
from sync.config_apply import ConfigApplier
from sync.contract import _document, validate
from sync.inbound import REJECTS

pytestmark = pytest.mark.broker
DEVICE = "engine"
USUAL_S = 5.0  # a normal command is answered well within this on a loaded machine
DEMO = yaml.safe_load((ROOT / "assets" / "halls" / "demo.yaml").read_text(encoding="utf-8"))
DEVICE_COMMAND = _document()["components"]["schemas"]["deviceCommand"]["properties"]
STORM = HOSTILE + wrong_types(DEVICE_COMMAND)


def _valid_command(payload: bytes) -> bool:
    try:
        validate(topics.sync_command(HALL, DEVICE), json.loads(payload))
    except (ValueError, RecursionError):
        return False
    return True


# wrong_types gives "args" an object too, which is its right type: a well-formed
# command for a name the agent does not know.
WELL_FORMED = {name for name, payload in STORM if _valid_command(payload)}
GENERATED = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def delta(before: dict[str, int]) -> Counter[str]:
    """Rejections counted (process-wide, by kind) since ``before``."""
    now = Counter(REJECTS.snapshot())
    now.subtract(before)
    return +now


class Answers(Recorder):
    """A Recorder that keeps each answer's correlation data too."""

    def __init__(self, host: str, port: int, topic_filter: str) -> None:
        self.by_correlation: dict[bytes, bytes] = {}
        super().__init__(host, port, topic_filter)

    def _on_message(self, c: Any, u: Any, msg: mqtt.MQTTMessage) -> None:
        super()._on_message(c, u, msg)
        correlation = getattr(msg.properties, "CorrelationData", None)
        if correlation is not None:
            with self._lock:
                self.by_correlation[bytes(correlation)] = bytes(msg.payload)

    def get(self, correlation: bytes) -> dict[str, Any] | None:
        with self._lock:
            body = self.by_correlation.get(correlation)
        return None if body is None else dict(json.loads(body))


def folder(path: Path) -> dict[str, bytes]:
    """Every file below ``path`` (the applied config), by relative name."""
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


# ---------------------------------------------------------------- the downlink


@dataclass
class Downlink:
    """One agent (ack=center, config folder, a reload handler) and its center, reused
    across hypothesis examples; the hostile publishers and an answer recorder."""

    agent: SyncAgent
    center: Center
    applier: ConfigApplier
    db: DeviceDb
    reloads: list[dict[str, Any]]
    v5: RawPublisher
    v311: RawPublisher
    answers: Answers

    @property
    def cmd(self) -> str:
        return topics.sync_command(HALL, DEVICE)

    def hit(self, payload: bytes, correlation: bytes) -> None:
        """``payload`` on every topic the agent listens to."""
        reply = topics.sync_reply(HALL, DEVICE)
        self.v5.publish(self.cmd, payload, response_topic=reply, correlation=correlation)
        self.v311.publish(self.cmd, payload)
        self.v5.publish(topics.device_config(HALL, DEVICE), payload, retain=True)
        self.v5.publish(topics.hall_config(HALL), payload, retain=True)
        self.v5.publish(topics.sync_ack(HALL, DEVICE), payload, retain=True)
        self.v5.publish(topics.sync_resend(HALL, DEVICE), payload)

    def still_answers(self) -> dict[str, Any]:
        """A normal health command is answered, and fast; returns the heartbeat."""
        started = time.monotonic()
        answer = self.center.command(HALL, DEVICE, "health", timeout=USUAL_S)
        assert answer["ok"], answer
        assert time.monotonic() - started < USUAL_S
        result: dict[str, Any] = answer["result"]
        return result


@pytest.fixture
def downlink(
    broker: Mosquitto,
    address: BrokerAddress,
    device_db: DeviceDb,
    make_center: Callable[..., Center],
    make_agent: Callable[..., SyncAgent],
    tmp_path: Path,
) -> Iterator[Downlink]:
    reloads: list[dict[str, Any]] = []
    registry = CommandRegistry()
    registry.register("reload", lambda cmd: reloads.append(cmd.args) or {"reloads": len(reloads)})
    applier = ConfigApplier(HALL, DEVICE, tmp_path / "config", hall_check=check_hall_document)
    center = make_center(address, confirm=True)
    agent = make_agent(
        address,
        device_db,
        config=applier,
        commands=registry,
        settings=dataclasses.replace(FAST, ack="center"),
    )
    # Config applied before the storm: the hall's (version 2) and the device's own (1).
    center.publish_config(HALL, {"version": 2, "hall": DEMO})
    center.publish_config(HALL, {"version": 1, "keys": {"KEY_F1": "call_next"}}, device=DEVICE)
    assert center.wait_until(lambda c: c.store.count(kind="config_applied") == 2, 10)
    wait_for(lambda: len(reloads) == 2, 5, "the reloads after the config was applied")
    v5 = RawPublisher(broker.host, broker.port)
    v311 = RawPublisher(broker.host, broker.port, v311=True)
    answers = Answers(broker.host, broker.port, topics.sync_reply(HALL, DEVICE))
    try:
        yield Downlink(agent, center, applier, device_db, reloads, v5, v311, answers)
    finally:
        answers.close()
        v311.close()
        v5.close()


def assert_agent_unharmed(d: Downlink, config_before: dict[str, bytes], versions: Any) -> None:
    """After a storm: events still flow both ways, the config is as it was."""
    ids = d.db.put(3, kind="evaluation")
    assert d.center.wait_until(lambda c: c.store.count(kind="evaluation") == 3, 10), (
        "an event written after the storm did not reach the center"
    )
    assert [e["id"] for e in d.center.store.events(kind="evaluation")] == ids
    # The center's acks still reach the agent (hostile acks confirmed nothing).
    wait_for(lambda: d.db.business_left() == 0, 10, "the center's ack to empty the outbox")
    assert folder(d.applier.config_dir) == config_before, "a hostile message changed the config"
    assert d.applier.versions() == versions
    assert d.applier.applied_version("hall") == 2 and d.applier.applied_version("device") == 1
    assert len(d.reloads) == 2, "a hostile message made the device reload"
    assert d.agent.stats.connects == 1, "the agent lost its link to the center"


def test_every_hostile_downlink_message_is_dropped_and_the_agent_goes_on(downlink: Downlink):
    d = downlink
    config_before = folder(d.applier.config_dir)
    versions = d.applier.versions()
    counted = REJECTS.snapshot()
    wanted: dict[bytes, str] = {}
    for name, payload in STORM:
        correlation = uuid.uuid4().bytes
        wanted[correlation] = name
        d.hit(payload, correlation)

    beat = d.still_answers()
    for kind in COUNTED_KINDS:
        assert beat["rejected"].get(kind, 0) > counted.get(kind, 0), (
            f"the heartbeat counted no {kind} rejection: {beat['rejected']}"
        )
    dropped = delta(counted)
    assert dropped["internal"] == 0, "a hostile message reached the agent's catch-all"
    # Per message on cmd (twice), the two configs, ack and resend: each one counted.
    assert sum(dropped.values()) >= 6 * len(STORM) - 2 * len(WELL_FORMED)

    # Every malformed command that named a response topic got a clear error there.
    wait_for(
        lambda: all(d.answers.get(c) is not None for c in wanted),
        10,
        "an answer to every malformed command",
    )
    for correlation, name in wanted.items():
        answer = d.answers.get(correlation)
        assert answer is not None
        assert answer["ok"] is False, (name, answer)
        if name in WELL_FORMED:
            assert answer["error"]["code"] == "unknown_command", (name, answer)
            continue
        assert answer["error"]["code"] == "bad_request", (name, answer)
        assert answer["error"]["message"] and answer["error"]["message_zh"] == "指令格式错误"
    assert_agent_unharmed(d, config_before, versions)


def test_generated_downlink_messages_never_stop_the_agent(downlink: Downlink):
    d = downlink
    config_before = folder(d.applier.config_dir)
    versions = d.applier.versions()
    counted = REJECTS.snapshot()

    @GENERATED
    @given(payload=hostile_json())
    def one(payload: bytes) -> None:
        correlation = uuid.uuid4().bytes
        d.hit(payload, correlation)
        wait_for(lambda: d.answers.get(correlation) is not None, USUAL_S, "the command's answer")
        answer = d.answers.get(correlation)
        assert answer is not None and answer["ok"] is False, answer
        malformed = not payload  # an empty command is no JSON object either
        if payload:
            try:
                inbound.check(d.cmd, payload)
            except inbound.Rejected:
                malformed = True
        if malformed:
            assert answer["error"]["code"] == "bad_request", answer
        d.still_answers()

    one()
    assert delta(counted)["internal"] == 0, "a generated message reached the agent's catch-all"
    assert_agent_unharmed(d, config_before, versions)


def test_a_refused_config_message_is_reported_upstream_with_its_own_reason(downlink: Downlink):
    d = downlink
    config_before = folder(d.applier.config_dir)
    topic = topics.device_config(HALL, DEVICE)
    invalid = b'{"version":3,"voice":{"volume":300}}'  # JSON, but not a valid document
    for payload in (HOSTILE[0][1], invalid, b'{"version":"\xff"}', invalid, b"[1]"):
        d.v5.publish(topic, payload, retain=True)
    assert d.center.wait_until(lambda c: c.store.count(kind="config_rejected") == 4, 10)
    reports = [e["data"] for e in d.center.store.events(kind="config_rejected")]
    assert [r["version"] for r in reports] == [None, 3, None, None]
    assert {r["scope"] for r in reports} == {"device"}
    deep, volume, not_utf8, top = (r["reason"] for r in reports)
    assert "nested deeper than" in deep
    assert "voice/volume" in volume and "300" in volume
    assert "not UTF-8" in not_utf8
    assert "not a JSON object" in top
    # Version 3 arrived twice (a retained document comes again): reported once.
    assert d.applier.versions()["device"] == {"applied": 1, "rejected": 3}
    assert folder(d.applier.config_dir).keys() == config_before.keys()
    assert d.applier.applied_version("device") == 1 and len(d.reloads) == 2


def test_an_answer_the_agent_cannot_send_does_not_stop_it(downlink: Downlink, monkeypatch):
    """Its own subtree, so allowed; but no channel of the contract, which the tests
    check every message sent against: publishing the answer raises."""
    monkeypatch.setenv("HALL_VALIDATE_CONTRACT", "1")
    d = downlink
    counted = REJECTS.snapshot()
    elsewhere = f"hall/{HALL}/dev/{DEVICE}/sync/elsewhere"
    for payload in (b'{"cmd":"reload"}', b'{"cmd":"health"}'):  # a worker's answer, the agent's
        d.v5.publish(d.cmd, payload, response_topic=elsewhere, correlation=b"c")
    wait_for(lambda: delta(counted)["internal"] == 2, USUAL_S, "both answers to be dropped")
    d.still_answers()
    assert len(d.reloads) == 3, "the reload did not run"
    assert d.agent.stats.connects == 1


# ---------------------------------------------------------------- foreign response topics

FOREIGN = [
    ("another device's reply", topics.sync_reply(HALL, "kiosk-1")),
    ("another device's sync command topic", topics.sync_command(HALL, "kiosk-1")),
    ("another device's hall command topic", topics.command(HALL, "kiosk-1")),
    ("its own sync command topic", topics.sync_command(HALL, DEVICE)),
    ("its own hall command topic", topics.command(HALL, DEVICE)),
    ("its own control topic", topics.control(HALL, DEVICE)),
    ("window 1's retained state", topics.window_state(HALL, "1")),
    ("the board", topics.board(HALL)),
    ("window 1's call announcements", topics.call(HALL, "1")),
    ("the same device in another hall", topics.sync_reply("other-hall", DEVICE)),
    ("a wildcard in its own subtree", f"hall/{HALL}/dev/{DEVICE}/sync/#"),
]
FOREIGN_COMMANDS = (
    b'{"cmd":"reload","args":{"tag":"foreign"}}',
    b'{"cmd":"health"}',
    b'{"cmd":"reload","args":[]}',  # malformed: not even a bad_request goes there
)


def test_no_answer_lands_outside_the_devices_subtree_and_the_command_does_not_run(
    broker, address, device_db, make_center, make_agent, monkeypatch
):
    # As in production: no contract check on sending, which would otherwise stop an
    # answer to most of these topics before it is published and hide a leak.
    monkeypatch.setenv("HALL_VALIDATE_CONTRACT", "0")
    tags: list[str] = []
    registry = CommandRegistry()
    registry.register("reload", lambda cmd: tags.append(cmd.args.get("tag")) or cmd.args)
    center = make_center(address)
    make_agent(address, device_db, commands=registry)
    everything = Recorder(broker.host, broker.port, "#")
    v5 = RawPublisher(broker.host, broker.port)
    reply = topics.sync_reply(HALL, DEVICE)

    def barrier(tag: str) -> int:
        """A normal command, answered; everything the agent got before it is handled."""
        assert center.command(HALL, DEVICE, "reload", {"tag": tag}, timeout=USUAL_S)["ok"]
        marker = json.dumps(tag).encode()
        wait_for(
            lambda: any(t == reply and marker in body for t, body in everything.live()),
            USUAL_S,
            f"the recorder to see the answer to {tag}",
        )
        return len(everything.live())

    try:
        seen = barrier("first")  # the retained messages replayed to the recorder are in
        counted = REJECTS.snapshot()
        for _label, target in FOREIGN:
            for payload in FOREIGN_COMMANDS:
                v5.publish(
                    topics.sync_command(HALL, DEVICE),
                    payload,
                    response_topic=target,
                    correlation=uuid.uuid4().bytes,
                )
        barrier("last")  # one agent thread: the foreign commands were handled before
        later = everything.live()[seen:]
        targets = {target for _label, target in FOREIGN}
        published = [(t, body) for t, body in later if t in targets and b'"ok"' in body]
        assert published == [], "an answer was published outside the device's subtree"
        assert [t for t, _ in later if t == topics.sync_health(HALL, DEVICE)] == [], (
            "a health command with a foreign response topic ran (it sent a heartbeat)"
        )
        assert tags == ["first", "last"], "a reload with a foreign response topic ran"
        assert delta(counted)["foreign_response_topic"] == len(FOREIGN) * len(FOREIGN_COMMANDS)
        beat = center.command(HALL, DEVICE, "health", timeout=USUAL_S)["result"]
        assert beat["rejected"]["foreign_response_topic"] >= len(FOREIGN) * len(FOREIGN_COMMANDS)
    finally:
        v5.close()
        everything.close()


# ---------------------------------------------------------------- the center

STATUS_LEAVES = ("health", "presence", "events")


def store_rows(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {
            table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("events", "streams", "device_status")
        }
    finally:
        conn.close()


def counted_by_center(payload: bytes, leaf: str) -> int:
    """How many rejections one message on ``leaf`` makes (an empty status is no status)."""
    return 1 if payload or leaf == "events" else 0


def test_the_center_survives_retained_hostile_messages_also_after_a_restart(
    broker, address, device_db, make_center, make_agent, tmp_path
):
    store = tmp_path / "center" / "store.db"
    center = make_center(address, store=store)
    pub = RawPublisher(broker.host, broker.port)
    retained: dict[str, bool] = {}  # topic -> a hostile message is retained there
    events_published = 0
    names = iter(range(10_000))

    def storm(payload: bytes, devices: tuple[str, ...]) -> None:
        """``payload`` retained on each device's status and events; wait until counted."""
        nonlocal events_published
        counted = REJECTS.snapshot()
        expect = 0
        for device in devices:
            for leaf in STATUS_LEAVES:
                topic = f"hall/{HALL}/dev/{device}/sync/{leaf}"
                pub.publish(topic, payload, retain=True)
                expect += counted_by_center(payload, leaf)
                retained[topic] = bool(payload)  # an empty retained message deletes it
                events_published += leaf == "events"
        # The center counted each of them: its loop turned past every one.
        wait_for(lambda: sum(delta(counted).values()) >= expect, USUAL_S, "the center to drop it")

    try:
        before = store_rows(store)
        counted = REJECTS.snapshot()
        for _name, payload in HOSTILE:
            storm(payload, (f"bad-{next(names)}",))
        storm(HOSTILE[0][1], (DEVICE,))  # also on the real agent's own topics
        dropped = delta(counted)
        for kind in COUNTED_KINDS:
            assert dropped[kind] > 0, f"the center counted no {kind} rejection: {dropped}"

        @GENERATED
        @given(payload=hostile_json())
        def one(payload: bytes) -> None:
            storm(payload, (f"gen-{next(names)}",))

        one()
        dropped = delta(counted)
        assert dropped["internal"] == 0, "a hostile message reached the center's catch-all"
        assert center.bad_batches == events_published and center.batches == 0
        assert store_rows(store) == before, "a hostile message changed the center's store"

        # A real agent's batches are stored as ever (its own presence and
        # heartbeat replace the hostile ones retained on its topics).
        make_agent(address, device_db)
        for leaf in ("health", "presence"):
            retained[f"hall/{HALL}/dev/{DEVICE}/sync/{leaf}"] = False
        ids = device_db.put(5)
        assert center.wait_until(lambda c: c.store.count(kind="ticket_issued") == 5, 10)
        assert [e["id"] for e in center.store.events(kind="ticket_issued")] == ids
        assert center.wait_until(
            lambda c: (c.store.status(HALL, DEVICE, "presence") or {}).get("status") == "online",
            5,
        )

        # Restarted on the same store: the broker replays every retained hostile
        # message to the new center, which drops each and goes on storing.
        center.stop()
        stored = store_rows(store)
        counted = REJECTS.snapshot()
        replayable = sum(retained.values())
        again = make_center(address, store=store)
        wait_for(
            lambda: sum(delta(counted).values()) >= replayable,
            10,
            f"the new center to drop the {replayable} retained hostile messages",
        )
        dropped = delta(counted)
        assert dropped["internal"] == 0 and sum(dropped.values()) == replayable, dropped
        more = device_db.put(5, kind="evaluation", start=5)
        assert again.wait_until(lambda c: c.store.count(kind="evaluation") == 5, 10)
        assert [e["id"] for e in again.store.events(kind="evaluation")] == more
        assert [e["id"] for e in again.store.events(kind="ticket_issued")] == ids
        after = store_rows(store)
        assert after == {**stored, "events": stored["events"] + 5}, (stored, after)
    finally:
        pub.close()
