"""The event batch on the central plane: pure codec, bytes in, objects out.

A batch carries a run of one device's outbox events in sequence order::

    {"hall": "demo-hall", "device": "engine", "stream": "<uuid>",
     "prev": 41, "base": 0, "sent_at": "2026-11-23T09:30:00",
     "events": [{"id": "<uuid>", "seq": 42, "kind": "ticket_issued",
                 "ts": "2026-11-23T09:29:58", "data": {...}}, ...]}

``prev`` chains batches: the batch holds every event the device still had
with ``prev < seq <= last``, so a center that has everything up to ``prev``
has everything up to the batch's last sequence once it stores it.  ``base``
is the sequence up to which the device no longer keeps events for sending
again (a center never needs to wait for anything at or below it).  A batch
with no events is a probe: "I have sent everything up to ``prev``".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sync import inbound
from sync.outbox import RawEvent


class BatchError(ValueError):
    """A received batch is not well formed; says what is wrong."""


@dataclass(frozen=True)
class WireEvent:
    id: str
    seq: int
    kind: str
    ts: str
    data: Any

    def envelope(self, hall: str, device: str) -> dict[str, Any]:
        """One event as the center stores and prints it."""
        return {
            "id": self.id,
            "seq": self.seq,
            "device": device,
            "hall": hall,
            "kind": self.kind,
            "ts": self.ts,
            "data": self.data,
        }


@dataclass(frozen=True)
class Batch:
    hall: str
    device: str
    stream: str
    prev: int
    base: int
    sent_at: str
    events: tuple[WireEvent, ...]

    @property
    def last(self) -> int:
        """The highest sequence this batch vouches for (``prev`` for a probe)."""
        return self.events[-1].seq if self.events else self.prev

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.hall, self.device, self.stream)


def _s(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def event_json(e: RawEvent) -> str:
    """One event's wire object, its stored payload spliced in as it is (the same text
    :func:`sync.outbox.read_run` builds in SQL)."""
    return (
        f'{{"id":{_s(e.id)},"seq":{e.seq},"kind":{_s(e.kind)},"ts":{_s(e.ts)},"data":{e.payload}}}'
    )


def encode_run(
    *, hall: str, device: str, stream: str, prev: int, base: int, sent_at: str, body: str
) -> bytes:
    """The batch around ``body``: its events' JSON objects, comma-separated, in order."""
    head = (
        f'{{"hall":{_s(hall)},"device":{_s(device)},"stream":{_s(stream)},'
        f'"prev":{int(prev)},"base":{int(base)},"sent_at":{_s(sent_at)},"events":['
    )
    return (head + body + "]}").encode()


def encode_batch(
    *,
    hall: str,
    device: str,
    stream: str,
    prev: int,
    base: int,
    sent_at: str,
    events: Sequence[RawEvent],
) -> bytes:
    """Build the batch without decoding each event's stored JSON payload again."""
    return encode_run(
        hall=hall,
        device=device,
        stream=stream,
        prev=prev,
        base=base,
        sent_at=sent_at,
        body=",".join([event_json(e) for e in events]),
    )


def _field(obj: dict[str, Any], name: str, kind: type, where: str) -> Any:
    value = obj.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BatchError(f"{where}: '{name}' must be {kind.__name__}, got {value!r:.60}")
    return value


def decode_batch(raw: bytes | bytearray | str) -> Batch:
    """Parse and check a batch; raise :class:`BatchError` saying what is wrong."""
    data = raw.encode() if isinstance(raw, str) else bytes(raw)
    try:
        obj = inbound.parse(data, limit=inbound.MAX_BYTES["syncEvents"])
    except inbound.Rejected as exc:
        raise BatchError(f"batch rejected: {exc.reason}") from None
    return batch_from(obj)


def batch_from(obj: dict[str, Any]) -> Batch:
    """A batch from its parsed JSON (already bounded and parsed strictly by
    :func:`sync.inbound.parse`); raise :class:`BatchError` saying what is wrong."""
    events_raw = obj.get("events")
    if not isinstance(events_raw, list):
        raise BatchError("batch: 'events' must be a list")
    prev = _field(obj, "prev", int, "batch")
    events: list[WireEvent] = []
    last = prev
    for i, e in enumerate(events_raw):
        where = f"events[{i}]"
        if not isinstance(e, dict):
            raise BatchError(f"{where}: must be an object")
        seq = _field(e, "seq", int, where)
        if seq <= last:
            raise BatchError(f"{where}: seq {seq} is not above {last} (batches are in order)")
        last = seq
        events.append(
            WireEvent(
                _field(e, "id", str, where),
                seq,
                _field(e, "kind", str, where),
                _field(e, "ts", str, where),
                e.get("data"),
            )
        )
    return Batch(
        hall=_field(obj, "hall", str, "batch"),
        device=_field(obj, "device", str, "batch"),
        stream=_field(obj, "stream", str, "batch"),
        prev=prev,
        base=_field(obj, "base", int, "batch"),
        sent_at=str(obj.get("sent_at", "")),
        events=tuple(events),
    )
