"""A plain MQTT subscriber and a raw paho floor, for ``hall bench sync``.

* :class:`EventTap` subscribes (bare paho, no contract check, no store) to the
  sync event batches and counts what arrives on the wire: events, distinct
  events and duplicates (an event sent again before de-duplication), so a
  drain's rate is what a subscriber really gets, not what a center stores.
* :func:`raw_throughput`: the same batches from a bare paho publisher to the same
  plain subscriber through the same broker, the drain's floor.
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
    address: BrokerAddress,
    payloads: Sequence[bytes],
    window: int,
    *,
    kind: str | None = None,
    timeout: float = 60.0,
) -> float:
    """Events per second from a bare paho publisher (QoS 1, ``window`` in flight, each
    group waiting for its PUBACKs, as the outbox drain keeps ``window`` batches in
    flight) through the broker at ``address`` to the same plain subscriber that counts
    the drain (an :class:`EventTap`: it parses each batch and counts its events), so
    the floor and the drain differ only in the publisher."""
    topic = f"floor/{uuid.uuid4().hex[:8]}"
    events = sum(
        len([e for e in json.loads(p)["events"] if kind in (None, e["kind"])]) for p in payloads
    )
    tap = EventTap(address, topic, kind=kind).start()
    pub = new_client(address, f"floor-pub-{topic[-8:]}", max_inflight=max(20, window))
    try:
        connect(pub, address, session_expiry_s=0)
        pub.loop_start()
        started = time.perf_counter()
        for i in range(0, len(payloads), window):
            infos = [pub.publish(topic, p, qos=1) for p in payloads[i : i + window]]
            for info in infos:
                info.wait_for_publish(timeout)
        if not tap.wait_for(events, timeout):
            raise LinkError(f"the floor subscriber got {tap.unique} of {events} events")
        return events / (time.perf_counter() - started)
    finally:
        close(pub, network_thread=True)
        tap.stop()
