"""``hall bench sync``: outbox writes, then the drain to a local Mosquitto, with its floors.

Puts N ticket events into a fresh outbox the way the engine does (one
transaction per event, WAL, ``synchronous=FULL``): ``put_per_s``, beside a bare
durable commit's rate in the same folder (``floor_commits_per_s``).

Then a private Mosquitto and, from the agent's start:

* ``drain_per_s``: the sync agent and a plain subscriber (bare paho: it counts
  the events of every batch, duplicates included, and stores nothing), until the
  subscriber got all N events and the outbox is empty: what the agent delivers;
* ``wire_duplicates``: events the plain subscriber got more than once (before
  any de-duplication); ``lost``: events it never got;
* ``center_store_per_s``: afterwards, a copy of the same outbox drained into a
  center (``hall monitor``'s code, de-duplicating into SQLite) until its store
  held all N: its own SQLite is its limit, not the agent's;
  ``center_duplicates`` after its de-duplication.

The floor, in the same run on the same broker, fair to the agent: the same
batches (as the agent builds them from this outbox: the same events per batch
and bytes), at the same QoS 1 with the same ``window`` in flight, from a bare
paho publisher that has them ready in memory, to the same plain subscriber
(parsing and counting each batch's events, as it does for the drain):
``floor_raw_per_s`` events a second; ``drain_ratio`` is ``drain_per_s`` over
it.  Only the publisher differs: what the agent adds is reading the outbox,
building the batches and deleting what the broker acknowledged.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HALL, DEVICE = "bench-hall", "engine"


def _put_events(db: Path, n: int) -> float:
    from sync import outbox

    conn = sqlite3.connect(str(db), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    outbox.ensure_schema(conn)
    started = time.perf_counter()
    for i in range(n):
        conn.execute("BEGIN IMMEDIATE")
        outbox.put(
            conn,
            "ticket_issued",
            "2026-11-23T09:30:00",
            {
                "ticket_id": str(uuid.uuid4()),
                "code": f"A{i % 1000:03d}",
                "queue": "A",
                "item": "hj-birth",
                "priority": "normal",
                "person_key": uuid.uuid4().hex,
                "issued_at": "2026-11-23T09:30:00",
                "ahead": i % 40,
            },
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def _copy_db(src: Path, dst: Path) -> None:
    source, target = sqlite3.connect(str(src)), sqlite3.connect(str(dst))
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def _outbox_business(db: Path) -> int:
    conn = sqlite3.connect(str(db))
    try:
        return int(conn.execute("SELECT count(*) FROM outbox WHERE class='business'").fetchone()[0])
    finally:
        conn.close()


def _agent_batches(db: Path, settings: Any) -> list[bytes]:
    """The outbox's events in the batches the agent would send (its size limits)."""
    from sync import outbox
    from sync.wire import encode_run

    conn = sqlite3.connect(str(db))
    try:
        out, after = [], 0
        while run := outbox.read_run(conn, after, settings.batch_events, settings.batch_bytes):
            out.append(
                encode_run(
                    hall=HALL,
                    device=DEVICE,
                    stream="floor",
                    prev=after,
                    base=0,
                    sent_at="2026-11-23T09:30:00",
                    body=run.body,
                )
            )
            after = run.last
        return out
    finally:
        conn.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    from hall.bench import floors
    from sync import topics
    from sync.agent import AgentSettings, SyncAgent
    from sync.broker import Mosquitto
    from sync.center import Center
    from sync.client import BrokerAddress
    from sync.tap import EventTap, raw_throughput

    n = 5000 if getattr(args, "quick", False) else 100_000
    settings = AgentSettings(heartbeat_s=3600, retention_every_s=3600)
    with tempfile.TemporaryDirectory(prefix="hall-bench-sync-") as tmp:
        folder = Path(tmp)
        db = folder / "outbox.db"
        put_s = _put_events(db, n)
        commit = floors.sqlite_commits(folder, 300)
        batches = _agent_batches(db, settings)
        copy = folder / "outbox-center.db"
        _copy_db(db, copy)
        with Mosquitto(workdir=folder / "broker", persistence=False) as broker:
            address = BrokerAddress(broker.host, broker.port)
            floor_raw = raw_throughput(address, batches, settings.window, kind="ticket_issued")
            timeout = 60 + n / 1000
            # 1. the agent alone with a plain subscriber: what it delivers
            tap = EventTap(address, topics.sync_events(HALL, DEVICE), kind="ticket_issued")
            tap.start()
            agent = SyncAgent(
                db_path=db, hall_id=HALL, device_id=DEVICE, center=address, settings=settings
            )
            drain_s = center_s = None
            try:
                started = time.perf_counter()
                agent.start()
                if tap.wait_for(n, timeout=timeout):
                    deadline = time.monotonic() + 30
                    while _outbox_business(db) and time.monotonic() < deadline:
                        time.sleep(0.002)
                    drain_s = time.perf_counter() - started
            finally:
                agent.stop()
                tap.stop()
            # 2. the same events from a copy of the outbox into a center: its store's rate
            center = Center(
                broker=address, hall=HALL, client_id="bench-center", session_expiry_s=0
            ).start()
            agent = SyncAgent(
                db_path=copy, hall_id=HALL, device_id=DEVICE, center=address, settings=settings
            )
            try:
                started = time.perf_counter()
                agent.start()
                if center.wait_until(
                    lambda c: c.store.count(kind="ticket_issued") >= n, timeout=timeout
                ):
                    center_s = time.perf_counter() - started
            finally:
                agent.stop()
                center.stop()
            seqs = center.store.seqs(kind="ticket_issued")
    drain_per_s = round(n / drain_s) if drain_s else None
    return {
        "bench": "sync",
        "events": n,
        "put_per_s": round(n / put_s),
        "floor_commits_per_s": commit["floor_commits_per_s"],
        "put_ratio": floors.ratio(n / put_s, commit["floor_commits_per_s"]),
        "drain_per_s": drain_per_s,
        "received": tap.received,
        "wire_duplicates": tap.duplicates,
        "lost": n - tap.unique,
        "batches": len(batches),
        "floor_raw_per_s": round(floor_raw),
        "drain_ratio": floors.ratio(drain_per_s, floor_raw),
        "center_store_per_s": round(n / center_s) if center_s else None,
        "center_duplicates": len(seqs) - len(set(seqs)),
    }
