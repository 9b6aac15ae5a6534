"""Everything a received MQTT message goes through before any handler sees it.

Every message can be hostile: a broken device, a bad cable, a hostile
neighbour on the hall LAN or a center sending nonsense.  Nothing one message
holds may end a network loop, so a payload is

1. bounded before parsing: a per-channel size bound, then a scan of the raw
   bytes (outside strings) for nesting deeper than :data:`MAX_DEPTH` and
   numbers longer than :data:`MAX_NUMBER` characters, so ``json.loads`` never
   recurses deeply nor builds a 5,000-digit integer;
2. parsed strictly: UTF-8 only, no ``NaN``/``Infinity``, no float that
   overflows to infinity (``1e999999``), no lone surrogate (``"\\ud800"``), a
   JSON object at the top;
3. validated against the AsyncAPI contract of its channel
   (``sync/asyncapi.yaml``), on receipt as well as on sending.

A message that fails is a :class:`Rejected`: it says why in English (for the
log and the error reply) and has a short ``kind`` that is counted
(:data:`REJECTS`) and reported in the device's health heartbeat.  The first
rejection of each kind in each place is logged as a warning, later ones only
counted, so a storm of bad messages cannot fill the disk.  Log lines carry the
topic and the reason, never the payload (it may hold personal data).
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from sync.contract import ContractError, channel_for, validate

log = logging.getLogger(__name__)

MAX_DEPTH = 32
MAX_NUMBER = 40  # characters of one JSON number: an int64 needs 20, a double 24
DEFAULT_MAX_BYTES = 64 * 1024

# Per channel of the contract: the largest payload a valid message needs.
MAX_BYTES: dict[str, int] = {
    "presence": 1024,
    "command": 4096,
    "reply": 256 * 1024,
    "windowState": 16 * 1024,
    "board": 64 * 1024,
    "catalog": 256 * 1024,
    "calls": 2048,
    "control": 16 * 1024,
    "syncEvents": 512 * 1024,
    "syncHealth": 32 * 1024,
    "syncPresence": 1024,
    "syncAck": 1024,
    "syncResend": 1024,
    "hallConfig": 512 * 1024,
    "deviceConfig": 512 * 1024,
    "syncCommand": 16 * 1024,
    "syncReply": 256 * 1024,
}

# A JSON string (escapes included); what is left outside strings is structure,
# numbers and the literals true/false/null.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_LONG_NUMBER = re.compile(rb"[-+0-9.eE]{%d,}" % (MAX_NUMBER + 1))
_BRACKETS = re.compile(rb"[\[\]{}]")


_JSON_NAMES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}
_JSON_NAMES[type(None)] = "null"


class Rejected(ValueError):
    """A received message that no valid message looks like; ``kind`` is counted."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def max_bytes(topic: str) -> int:
    channel = channel_for(topic)
    return MAX_BYTES.get(channel, DEFAULT_MAX_BYTES) if channel else DEFAULT_MAX_BYTES


def _no_constant(name: str) -> Any:
    raise Rejected("non_finite", f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise Rejected("non_finite", f"number {text[:20]} overflows")
    return value


def scan(raw: bytes, *, depth: int = MAX_DEPTH) -> None:
    """Raise :class:`Rejected` when ``raw`` nests deeper than ``depth`` or holds a too long number.

    Linear in the size of ``raw`` and without recursion; strings are skipped,
    so brackets and digits inside them do not count.
    """
    outside = _STRING.sub(b'""', raw)
    if _LONG_NUMBER.search(outside):
        raise Rejected("number_too_long", f"a number longer than {MAX_NUMBER} characters")
    if outside.count(b"[") + outside.count(b"{") <= depth:
        return  # too few openings to nest deeper, whatever their order
    level = 0
    for match in _BRACKETS.finditer(outside):
        if match.group() in (b"[", b"{"):
            level += 1
            if level > depth:
                raise Rejected("too_deep", f"nested deeper than {depth} levels")
        else:
            level -= 1


def parse(raw: bytes, *, limit: int = DEFAULT_MAX_BYTES) -> dict[str, Any]:
    """Bounded, strict JSON: a dict, or :class:`Rejected` saying why not."""
    if len(raw) > limit:
        raise Rejected("too_large", f"payload of {len(raw)} bytes exceeds {limit}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected("not_utf8", f"not UTF-8 (byte {exc.start})") from None
    scan(raw)
    try:
        payload = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise Rejected("not_json", f"not JSON: {exc.msg} at {exc.pos}") from None
    except (ValueError, RecursionError) as exc:  # the scan should have caught these
        if isinstance(exc, Rejected):
            raise
        raise Rejected("not_json", f"unparseable JSON ({type(exc).__name__})") from None
    if not isinstance(payload, dict):
        found = _JSON_NAMES.get(type(payload), type(payload).__name__)
        raise Rejected("not_object", f"a JSON {found} at the top, not a JSON object")
    if "\\u" in text:  # only an escape can make a lone surrogate in valid UTF-8
        try:
            json.dumps(payload, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise Rejected("lone_surrogate", "a string holds a lone UTF-16 surrogate") from None
    return payload


def check(topic: str, raw: bytes | bytearray) -> dict[str, Any]:
    """Parse ``raw`` bounded for ``topic``'s channel and validate it against the contract."""
    payload = parse(bytes(raw), limit=max_bytes(topic))
    try:
        validate(topic, payload)
    except ContractError as exc:
        raise Rejected("contract", str(exc)[:300]) from None
    return payload


class Rejections:
    """Counts of rejected messages by kind, for this process; logs each kind once per place."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._logged: set[tuple[str, str]] = set()
        self.listeners: list[Callable[[dict[str, int]], None]] = []

    def count(self, where: str, kind: str, topic: str, reason: str) -> None:
        with self._lock:
            self._counts[kind] += 1
            first = (where, kind) not in self._logged
            self._logged.add((where, kind))
            n = self._counts[kind]
            snapshot = dict(self._counts)
        if first:
            log.warning(
                "%s: dropped a message on %s (%s): %s; further %s messages are only counted",
                where,
                topic[:120],
                kind,
                reason,
                kind,
            )
        else:
            log.debug("%s: dropped %s message #%d on %s", where, kind, n, topic[:120])
        for listener in list(self.listeners):
            try:
                listener(snapshot)
            except Exception:  # a health sink must not stop a network loop either
                log.exception("recording rejected messages failed")

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._logged.clear()


REJECTS = Rejections()


def own_subtree(hall: str, device: str) -> str:
    """The topics a device may write on the hall and central brokers (ACL ``hall/+/dev/%u/#``)."""
    return f"hall/{hall}/dev/{device}/"


def response_topic_allowed(response_topic: str, hall: str, asker: str) -> bool:
    """May an answer to ``asker`` go to ``response_topic``?

    Only below the asker's own subtree, where the asker itself may write, and
    never onto a request topic (an answer published there would be taken for
    a new request); no wildcards.
    """
    if not asker or any(c in response_topic for c in "+#\0"):
        return False
    if not response_topic.startswith(own_subtree(hall, asker)):
        return False
    return not response_topic.endswith(("/cmd", "/control"))
