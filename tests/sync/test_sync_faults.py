"""Faults against a real Mosquitto: after recovery the center holds every event exactly
once after de-duplication, in per-device order, and the tests count them."""

from __future__ import annotations

import dataclasses
import threading

import pytest
from sync_helpers import AS_ROOT, FAST, HALL, wait_for

from sync.broker import Mosquitto
from sync.client import BrokerAddress

pytestmark = pytest.mark.broker

SLOW_STREAM = dataclasses.replace(FAST, batch_events=20, window=2)


def assert_exactly_once_in_order(center, ids: list[str]) -> None:
    events = center.store.events(kind="ticket_issued")
    assert len(events) == len(ids), f"center holds {len(events)} of {len(ids)} events"
    assert [e["id"] for e in events] == ids  # same events, stored in sequence order
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


class Producer(threading.Thread):
    """The engine at work: events keep arriving in the outbox during the fault."""

    def __init__(self, db, total: int, chunk: int = 10) -> None:
        super().__init__(daemon=True)
        self.db, self.total, self.chunk = db, total, chunk
        self.ids: list[str] = []
        self.done = threading.Event()
        self._pace = threading.Event()

    def run(self) -> None:
        while len(self.ids) < self.total:
            self.ids += self.db.put(self.chunk, start=len(self.ids))
            self._pace.wait(0.004)
        self.done.set()


def test_broker_killed_during_a_stream(broker, address, device_db, make_center, make_agent):
    center = make_center(address, confirm=True)
    agent = make_agent(address, device_db, settings=dataclasses.replace(SLOW_STREAM, ack="center"))
    producer = Producer(device_db, 1500)
    producer.start()
    assert center.wait_until(lambda c: c.store.count() >= 300, 15)

    broker.kill()  # SIGKILL: no goodbye, persistence only as of the last autosave
    wait_for(
        lambda: not agent.connected.is_set() and not center.connected.is_set(),
        10,
        "agent and center to notice the broker is gone",
    )
    stored_while_down = center.store.count()
    wait_for(
        lambda: len(producer.ids) >= stored_while_down + 300,
        10,
        "events to pile up in the outbox while the broker is down",
    )
    assert center.store.count() == stored_while_down

    broker.start()
    assert producer.done.wait(20)
    assert center.wait_until(lambda c: c.store.count(kind="ticket_issued") == 1500, 30)
    assert_exactly_once_in_order(center, producer.ids)
    wait_for(
        lambda: device_db.business_left() == 0, 15, "the outbox to empty as the center confirms"
    )
    assert agent.stats.connects >= 2


def test_agent_killed_9_mid_batch(broker, address, device_db, make_center, spawn_agent):
    ids = device_db.put(3000)
    center = make_center(address)
    agent = spawn_agent(broker, device_db, "--batch", "20", "--window", "4")
    assert center.wait_until(lambda c: c.store.count() >= 600, 30), agent.log.read_text()
    agent.kill9()
    left = device_db.business_left()
    assert 0 < left < 3000  # some delivered and deleted, the rest kept
    # Its Last Will tells the center the link is gone.
    assert center.wait_until(
        lambda c: (c.store.status(HALL, "engine", "presence") or {}).get("status") == "offline",
        10,
    )

    spawn_agent(broker, device_db, "--batch", "20", "--window", "4")
    assert center.wait_until(lambda c: c.store.count(kind="ticket_issued") == 3000, 30)
    assert_exactly_once_in_order(center, ids)
    wait_for(lambda: device_db.business_left() == 0, 10, "the outbox to empty")
    assert center.wait_until(
        lambda c: (c.store.status(HALL, "engine", "presence") or {}).get("status") == "online",
        10,
    )


def test_broker_restarted_with_persistence(broker, address, device_db, make_center, make_agent):
    ids = device_db.put(2000)
    center = make_center(address)  # a persistent session: the broker queues for it
    make_agent(address, device_db, settings=SLOW_STREAM)  # ack=broker: delete at PUBACK
    assert center.wait_until(lambda c: c.store.count() >= 400, 15)
    broker.restart()  # SIGTERM saves sessions and queued messages, then start again
    assert center.wait_until(lambda c: c.store.count(kind="ticket_issued") == 2000, 30)
    assert_exactly_once_in_order(center, ids)
    wait_for(lambda: device_db.business_left() == 0, 10, "the outbox to empty")


def test_broker_restarted_without_persistence(tmp_path, device_db, make_center, make_agent):
    """The broker forgets every session and everything it had acknowledged: with ack=center
    the agent keeps events until the center confirms them and sends them again."""
    with Mosquitto(workdir=tmp_path / "amnesiac", persistence=False, extra_conf=AS_ROOT) as broker:
        address = BrokerAddress(broker.host, broker.port)
        center = make_center(address, confirm=True)
        agent = make_agent(
            address, device_db, settings=dataclasses.replace(SLOW_STREAM, ack="center")
        )
        producer = Producer(device_db, 2000, chunk=20)
        producer.start()
        assert center.wait_until(lambda c: c.store.count() >= 400, 15)
        broker.restart()
        assert producer.done.wait(20)
        assert center.wait_until(lambda c: c.store.count(kind="ticket_issued") == 2000, 30)
        assert_exactly_once_in_order(center, producer.ids)
        wait_for(lambda: device_db.business_left() == 0, 15, "the outbox to empty")
        assert agent.stats.connects >= 2
