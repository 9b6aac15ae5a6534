"""The device outbox: every event that must reach the center, stored durably.

Events are written in the same SQLite transaction as the state change that
caused them, so a crash can never record a ticket without its event or an
event without its ticket.  Each event has a UUID (version 7: in the order made)
and a per-device sequence number (the row's ``seq``), which the center uses to
de-duplicate and order.
The sync agent (``sync.agent``) reads from here and deletes only what the
broker acknowledged (or, in ``ack=center`` mode, what the center confirmed).

``outbox_state`` keeps the stream id (a UUID made once per database, so the
center can tell a replaced device's new numbering from the old one) and the
agent's delivery cursors.  Retention (:func:`enforce_retention`) bounds the
table by size and age: health records are shed oldest first, business events
are never dropped before the broker has them, and the caller raises an alarm.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hall.core import ids

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
        "ticket_progress",  # #13: milestones for the citizen's reminders (no personal data)
        "manager_action",  # #13: a hall manager's change from the console
        "follow_up",  # #14: a bad rating's follow-up (opened, 回访, 整改, reminder, overdue)
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
CREATE TABLE IF NOT EXISTS outbox_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
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


# json.dumps(payload, ensure_ascii=False, separators=(",", ":")), without a new encoder
# for every event
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_INSERT = "INSERT INTO outbox (id, kind, class, ts, payload) VALUES (?, ?, ?, ?, ?)"


def _row(kind: str, ts: str, payload: dict[str, Any]) -> tuple[str, str, str, str, str]:
    if kind in BUSINESS_KINDS:
        cls = "business"
    elif kind in HEALTH_KINDS:
        cls = "health"
    else:
        raise ValueError(f"unknown outbox event kind {kind!r}")
    # in the order made: the unique index of ids takes each beside the last (ids.uuid7)
    return (ids.uuid7(), kind, cls, ts, _ENCODE(payload))


def put(conn: sqlite3.Connection, kind: str, ts: str, payload: dict[str, Any]) -> str:
    """Add an event inside the caller's transaction; returns its UUID."""
    row = _row(kind, ts, payload)
    conn.execute(_INSERT, row)
    return row[0]


def put_many(
    conn: sqlite3.Connection, ts: str, events: list[tuple[str, dict[str, Any]]]
) -> list[str]:
    """Add ``events`` ((kind, payload), in order, all at ``ts``) inside the caller's
    transaction in one statement; returns their UUIDs."""
    rows = [_row(kind, ts, payload) for kind, payload in events]
    conn.executemany(_INSERT, rows)
    return [r[0] for r in rows]


def peek(conn: sqlite3.Connection, limit: int, after_seq: int = 0) -> list[Event]:
    rows = conn.execute(
        "SELECT seq, id, kind, ts, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
        (after_seq, limit),
    ).fetchall()
    return [Event(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]


def count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


# ---------------------------------------------------------------- delivery side


# Per-row overhead beyond the payload (id, kind, ts, envelope) used for the size bound.
ROW_OVERHEAD = 120


@dataclass(frozen=True)
class RawEvent:
    """An outbox row with its payload still as JSON text (the agent splices it into a batch)."""

    seq: int
    id: str
    kind: str
    ts: str
    payload: str


def read_after(conn: sqlite3.Connection, after_seq: int, limit: int) -> list[RawEvent]:
    rows = conn.execute(
        "SELECT seq, id, kind, ts, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
        (after_seq, limit),
    ).fetchall()
    return [RawEvent(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]


@dataclass(frozen=True)
class PendingRun:
    """A run of outbox events, ready for the wire: ``body`` holds their JSON objects
    (``{"id":..,"seq":..,"kind":..,"ts":..,"data":<payload>}``), comma-separated, in
    sequence order, built by SQLite itself (no Python work per event)."""

    last: int
    count: int
    body: str


# The events after ``seq`` (at most ``limit``), each with its size for the bound
# (payload + ROW_OVERHEAD) and already as its wire JSON object.
_RUN_SQL = f"""
SELECT seq, length(payload) + {ROW_OVERHEAD},
  '{{"id":' || json_quote(id) || ',"seq":' || seq || ',"kind":' || json_quote(kind)
  || ',"ts":' || json_quote(ts) || ',"data":' || payload || '}}'
FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?
"""


def read_run(
    conn: sqlite3.Connection, after_seq: int, limit: int, max_bytes: int
) -> PendingRun | None:
    """The next batch after ``after_seq``: at most ``limit`` events, as many as fit
    ``max_bytes`` (the first always); None when there are none."""
    rows = conn.execute(_RUN_SQL, (after_seq, limit)).fetchall()
    if not rows:
        return None
    size, n = 0, 0
    for _seq, row_size, _frag in rows:
        size += row_size
        if n and size > max_bytes:
            break
        n += 1
    del rows[n:]
    return PendingRun(int(rows[-1][0]), n, ",".join([r[2] for r in rows]))


def delete_through(conn: sqlite3.Connection, seq: int) -> int:
    """Delete every event up to ``seq`` (inclusive); returns how many went."""
    return conn.execute("DELETE FROM outbox WHERE seq <= ?", (seq,)).rowcount


def get_state(conn: sqlite3.Connection, key: str, default: str = "") -> str:
    row = conn.execute("SELECT value FROM outbox_state WHERE key=?", (key,)).fetchone()
    return str(row[0]) if row else default


def set_state(conn: sqlite3.Connection, key: str, value: str | int) -> None:
    conn.execute(
        "INSERT INTO outbox_state (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
        (key, str(value)),
    )


def stream_id(conn: sqlite3.Connection) -> str:
    """This database's stream id: made once, kept for the life of the outbox."""
    conn.execute(
        "INSERT OR IGNORE INTO outbox_state (key, value) VALUES ('stream', ?)",
        (str(uuid.uuid4()),),
    )
    return get_state(conn, "stream")


@dataclass(frozen=True)
class Backlog:
    """What waits in the outbox."""

    events: int
    business: int
    health: int
    bytes: int
    first_seq: int | None
    last_seq: int | None
    oldest_ts: str | None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def backlog(conn: sqlite3.Connection) -> Backlog:
    row = conn.execute(
        "SELECT count(*), coalesce(sum(class='business'), 0), coalesce(sum(class='health'), 0), "
        f"coalesce(sum(length(payload) + {ROW_OVERHEAD}), 0), min(seq), max(seq), min(ts) "
        "FROM outbox"
    ).fetchone()
    return Backlog(int(row[0]), int(row[1]), int(row[2]), int(row[3]), row[4], row[5], row[6])


@dataclass(frozen=True)
class RetentionPolicy:
    """How much the outbox may hold: events, bytes (payload + overhead) and age."""

    max_events: int = 500_000
    max_bytes: int = 512 * 1024 * 1024
    max_age_s: float = 30 * 24 * 3600.0


@dataclass(frozen=True)
class RetentionResult:
    dropped_health: int
    dropped_delivered: int  # business events the broker already had (ack=center mode)
    full: bool  # still over a bound: only undelivered business events are left
    stale_business: int  # business events older than max_age (kept, but alarming)
    backlog: Backlog

    @property
    def alarm(self) -> bool:
        return self.full or self.dropped_health > 0 or self.stale_business > 0


def _over(b: Backlog, policy: RetentionPolicy) -> bool:
    return b.events > policy.max_events or b.bytes > policy.max_bytes


def _shed(
    conn: sqlite3.Connection,
    where: str,
    params: tuple[Any, ...],
    b: Backlog,
    policy: RetentionPolicy,
) -> int:
    """Delete the oldest rows matching ``where`` until the backlog fits the policy."""
    need_events = max(0, b.events - policy.max_events)
    need_bytes = max(0, b.bytes - policy.max_bytes)
    cutoff: int | None = None
    n = freed = 0
    for seq, size in conn.execute(
        f"SELECT seq, length(payload) + {ROW_OVERHEAD} FROM outbox WHERE {where} ORDER BY seq",
        params,
    ):
        if n >= need_events and freed >= need_bytes:
            break
        cutoff, n, freed = int(seq), n + 1, freed + int(size)
    if cutoff is None:
        return 0
    return conn.execute(
        f"DELETE FROM outbox WHERE ({where}) AND seq <= ?", (*params, cutoff)
    ).rowcount


def enforce_retention(
    conn: sqlite3.Connection, policy: RetentionPolicy, *, now: datetime, delivered_through: int = 0
) -> RetentionResult:
    """Bring the outbox within ``policy``; run inside the caller's transaction.

    Order of shedding: health records older than the age bound; then the
    oldest health records while over the size bounds; then (only when the
    caller keeps delivered events for the center, ``delivered_through`` > 0)
    business events the broker has already acknowledged.  Business events the
    broker has not acknowledged are never dropped: the result says ``full``
    and the caller raises an alarm.
    """
    # SQLite's julianday() reads "+08:00" offsets (the engine's aware local times) and
    # takes a time without one as UTC; the cutoff is given in UTC.
    cutoff = now - timedelta(seconds=policy.max_age_s)
    if cutoff.tzinfo is not None:
        cutoff = cutoff.astimezone(UTC).replace(tzinfo=None)
    cutoff_ts = cutoff.isoformat(sep=" ", timespec="seconds")
    dropped_health = conn.execute(
        "DELETE FROM outbox WHERE class='health' AND julianday(ts) < julianday(?)", (cutoff_ts,)
    ).rowcount
    b = backlog(conn)
    if _over(b, policy):
        dropped_health += _shed(conn, "class='health'", (), b, policy)
        b = backlog(conn)
    dropped_delivered = 0
    if _over(b, policy) and delivered_through > 0:
        dropped_delivered = _shed(conn, "seq <= ?", (delivered_through,), b, policy)
        b = backlog(conn)
    stale = int(
        conn.execute(
            "SELECT count(*) FROM outbox WHERE class='business' AND julianday(ts) < julianday(?)",
            (cutoff_ts,),
        ).fetchone()[0]
    )
    return RetentionResult(dropped_health, dropped_delivered, _over(b, policy), stale, b)
