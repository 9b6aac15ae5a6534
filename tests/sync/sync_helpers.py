"""Helpers shared by the central-plane tests (imported by conftest and the tests)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sync import outbox
from sync.agent import AgentSettings

# Run as root, Mosquitto drops to the "mosquitto" user, who can neither write its
# persistence file nor read keys inside pytest's private (0700) tmp folders: the
# broker would silently run without persistence.  Keep it root in tests.
AS_ROOT = ""  # sync.broker.Mosquitto adds "user root" itself when run as root
ROOT = Path(__file__).resolve().parents[2]
HALL = "demo-hall"
FAST = AgentSettings(
    backoff_min_s=0.1,
    backoff_max_s=0.5,
    probe_min_s=0.2,
    probe_max_s=1.0,
    heartbeat_s=3600,
    idle_poll_s=0.05,
    batch_events=50,
    window=4,
)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait until ``condition()`` holds or fail saying what did not happen."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        pause.wait(0.02)


class DeviceDb:
    """A device database with an outbox, written the way the engine writes it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=10
        )
        self.conn.execute("PRAGMA journal_mode=WAL")
        outbox.ensure_schema(self.conn)
        self.lock = threading.Lock()

    def put(self, n: int, kind: str = "ticket_issued", start: int = 0) -> list[str]:
        ids = []
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            for i in range(start, start + n):
                ids.append(
                    outbox.put(
                        self.conn, kind, "2026-11-23T09:30:00", {"n": i, "code": f"A{i % 1000:03d}"}
                    )
                )
            self.conn.execute("COMMIT")
        return ids

    def business_left(self) -> int:
        with self.lock:
            return int(
                self.conn.execute("SELECT count(*) FROM outbox WHERE class='business'").fetchone()[
                    0
                ]
            )

    def kinds(self) -> list[str]:
        with self.lock:
            return [r[0] for r in self.conn.execute("SELECT kind FROM outbox ORDER BY seq")]

    def close(self) -> None:
        self.conn.close()
