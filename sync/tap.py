"""A plain MQTT subscriber and a raw paho floor, for ``hall bench sync``.

* :class:`EventTap` subscribes (bare paho, no contract check, no store) to the
  sync event batches and counts what arrives on the wire: events, distinct
  events and duplicates (an event sent again before de-duplication), so a
  drain's rate is what a subscriber really gets, not what a center stores.
* :func:`raw_throughput`: the same batches from a bare paho publisher to a bare
  paho subscriber through the same broker, the drain's floor.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as mqtt

from sync.client import BrokerAddress, LinkError, close, connect, new_client, subscribe


class EventTap:
    """Counts the events (of ``kind``, or all) of the batches published under
    ``topic_filter``."""

    def __init__(self, address: BrokerAddress, topic_filter: str, kind: str | None = None) -> None:
        self.address = address
        self.topic_filter = topic_filter
        self.kind = kind
        self.received = 0  # events, duplicates included
        self.batches = 0
        self.unreadable = 0
        self.first_at: float | None = None
        self._ids: set[str] = set()
        self._changed = threading.Condition()
        self._subscribed = threading.Event()
        self._client = new_client(address, f"tap-{uuid.uuid4().hex[:8]}", max_inflight=100)
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *_a: self._subscribed.set()

    @property
    def unique(self) -> int:
        return len(self._ids)

    @property
    def duplicates(self) -> int:
        return self.received - len(self._ids)

    def start(self, timeout: float = 10.0) -> EventTap:
        connect(self._client, self.address, session_expiry_s=0)
        self._client.loop_start()
        subscribe(self._client, [self.topic_filter])
        if not self._subscribed.wait(timeout):
            self.stop()
            raise LinkError(f"the tap was not subscribed to {self.topic_filter}")
        return self

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            events = json.loads(msg.payload)["events"]
            ids = [str(e["id"]) for e in events if self.kind in (None, e["kind"])]
        except (ValueError, KeyError, TypeError):
            self.unreadable += 1
            return
        with self._changed:
            if self.first_at is None:
                self.first_at = time.perf_counter()
            self.batches += 1
            self.received += len(ids)
            self._ids.update(ids)
            self._changed.notify_all()

    def wait_for(self, unique: int, timeout: float) -> bool:
        """Until ``unique`` distinct events arrived, or ``timeout``."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._ids) >= unique, timeout)

    def stop(self) -> None:
        close(self._client, network_thread=True)


def raw_throughput(
    address: BrokerAddress, payloads: Sequence[bytes], window: int, *, timeout: float = 60.0
) -> float:
    """Messages per second from a bare paho publisher to a bare paho subscriber (QoS 1
    both ways) through the broker at ``address``, ``window`` at a time, each group
    waiting for its PUBACKs (the outbox drain keeps ``window`` batches in flight)."""
    topic = f"floor/{uuid.uuid4().hex[:8]}"
    got = threading.Event()
    count = [0]

    def on_message(_c: mqtt.Client, _u: Any, _m: mqtt.MQTTMessage) -> None:
        count[0] += 1
        if count[0] >= len(payloads):
            got.set()

    subscribed = threading.Event()
    sub = new_client(address, f"floor-sub-{topic[-8:]}", max_inflight=max(20, window))
    pub = new_client(address, f"floor-pub-{topic[-8:]}", max_inflight=max(20, window))
    sub.on_message = on_message
    sub.on_subscribe = lambda *_a: subscribed.set()
    try:
        for c in (sub, pub):
            connect(c, address, session_expiry_s=0)
            c.loop_start()
        subscribe(sub, [topic])
        if not subscribed.wait(10):
            raise LinkError("the floor subscriber was not subscribed")
        started = time.perf_counter()
        for i in range(0, len(payloads), window):
            infos = [pub.publish(topic, p, qos=1) for p in payloads[i : i + window]]
            for info in infos:
                info.wait_for_publish(timeout)
        if not got.wait(timeout):
            raise LinkError(f"the floor subscriber got {count[0]} of {len(payloads)}")
        return len(payloads) / (time.perf_counter() - started)
    finally:
        for c in (pub, sub):
            close(c, network_thread=True)
