"""The device outbox: every event that must reach the center, stored durably.

Events are written in the same SQLite transaction as the state change that
caused them, so a crash can never record a ticket without its event or an
event without its ticket.  Each event has a UUID and a per-device sequence
number (the row's ``seq``), which the center uses to de-duplicate and order.
The sync agent (``sync.agent``) reads from here and deletes only what the
broker acknowledged.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

# Event kinds and their class: business events are never dropped; health may
# be shed first when the outbox is full.
BUSINESS_KINDS = frozenset(
    {
        "ticket_issued",
        "ticket_called",
        "ticket_recalled",
        "service_started",
        "service_finished",
        "ticket_no_show",
        "ticket_requeued",
        "ticket_transferred",
        "window_paused",
        "window_resumed",
        "clerk_login",
        "clerk_logout",
        "staff_status",
        "evaluation",
        "config_applied",
        "config_rejected",
        "alarm",
    }
)
HEALTH_KINDS = frozenset({"health"})

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    class TEXT NOT NULL,
    ts TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_class ON outbox(class, seq);
"""


@dataclass(frozen=True)
class Event:
    seq: int
    id: str
    kind: str
    ts: str
    payload: dict[str, Any]

    def envelope(self, device_id: str, hall_id: str) -> dict[str, Any]:
        """The message the center receives (see the AsyncAPI contract)."""
        return {
            "id": self.id,
            "seq": self.seq,
            "device": device_id,
            "hall": hall_id,
            "kind": self.kind,
            "ts": self.ts,
            "data": self.payload,
        }


def ensure_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


def put(conn: sqlite3.Connection, kind: str, ts: str, payload: dict[str, Any]) -> str:
    """Add an event inside the caller's transaction; returns its UUID."""
    if kind in BUSINESS_KINDS:
        cls = "business"
    elif kind in HEALTH_KINDS:
        cls = "health"
    else:
        raise ValueError(f"unknown outbox event kind {kind!r}")
    event_id = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO outbox (id, kind, class, ts, payload) VALUES (?, ?, ?, ?, ?)",
        (event_id, kind, cls, ts, json.dumps(payload, ensure_ascii=False, separators=(",", ":"))),
    )
    return event_id


def peek(conn: sqlite3.Connection, limit: int, after_seq: int = 0) -> list[Event]:
    rows = conn.execute(
        "SELECT seq, id, kind, ts, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
        (after_seq, limit),
    ).fetchall()
    return [Event(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]


def count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])
