"""``hall bench sync``: outbox writes, then draining to a local Mosquitto while a center counts.

Puts N ticket events into a fresh outbox the way the engine does (one
transaction per event, WAL, ``synchronous=FULL``), then starts a private
Mosquitto, a center (``hall monitor``'s code, de-duplicating into SQLite) and
the sync agent, and measures from the agent's start until the center holds
all N events and the outbox is empty.
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


def _outbox_business(db: Path) -> int:
    conn = sqlite3.connect(str(db))
    try:
        return int(conn.execute("SELECT count(*) FROM outbox WHERE class='business'").fetchone()[0])
    finally:
        conn.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    from sync.agent import AgentSettings, SyncAgent
    from sync.broker import Mosquitto
    from sync.center import Center
    from sync.client import BrokerAddress

    n = 5000 if getattr(args, "quick", False) else 100_000
    with tempfile.TemporaryDirectory(prefix="hall-bench-sync-") as tmp:
        folder = Path(tmp)
        db = folder / "outbox.db"
        put_s = _put_events(db, n)
        with Mosquitto(workdir=folder / "broker", persistence=False) as broker:
            address = BrokerAddress(broker.host, broker.port)
            center = Center(
                broker=address, hall=HALL, client_id="bench-center", session_expiry_s=0
            ).start()
            agent = SyncAgent(
                db_path=db,
                hall_id=HALL,
                device_id=DEVICE,
                center=address,
                settings=AgentSettings(heartbeat_s=3600, retention_every_s=3600),
            )
            try:
                started = time.perf_counter()
                agent.start()
                done = center.wait_until(
                    lambda c: c.store.count(kind="ticket_issued") >= n, timeout=60 + n / 1000
                )
                deadline = time.monotonic() + 30
                while done and _outbox_business(db) and time.monotonic() < deadline:
                    time.sleep(0.01)
                drain_s = time.perf_counter() - started
            finally:
                agent.stop()
                center.stop()
            seqs = center.store.seqs(kind="ticket_issued")
            unique = len(set(seqs))
    return {
        "bench": "sync",
        "events": n,
        "put_per_s": round(n / put_s),
        "drain_per_s": round(n / drain_s),
        "lost": n - unique,
        "duplicates_after_dedup": len(seqs) - unique,
    }
