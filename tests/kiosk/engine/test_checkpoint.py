"""The WAL during a burst of tickets: each checkpoint round starts it over, so it does
not grow for as long as the burst lasts (it reached 500 MB after 8,000 tickets)."""

from __future__ import annotations

import struct
import threading
import time
from pathlib import Path

from hall.core import db as core_db
from kiosk.engine.store import Checkpointer


def _wal_restarts(wal: Path) -> int:
    """The WAL header's checkpoint sequence: one more each time the WAL starts over."""
    with wal.open("rb") as f:
        return int(struct.unpack(">I", f.read(16)[12:16])[0])


def test_a_checkpoint_round_starts_the_wal_over_while_tickets_keep_coming(make_engine, tmp_path):
    engine = make_engine()
    stop = threading.Event()
    issued = [0]

    def burst() -> None:
        while not stop.is_set():
            engine.issue(queue_id="A")
            issued[0] += 1

    writer = threading.Thread(target=burst, daemon=True)
    writer.start()
    conn = core_db.connect(tmp_path / "engine.db", wal=False)
    checkpointer = Checkpointer(tmp_path / "engine.db", lock=engine.lock)  # rounds run here
    try:
        deadline = time.monotonic() + 60
        while issued[0] < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        wal = tmp_path / "engine.db-wal"
        before = _wal_restarts(wal)
        for _ in range(3):
            checkpointer.checkpoint(conn)
            seen = issued[0]
            while issued[0] < seen + 3 and time.monotonic() < deadline:  # commits go on
                time.sleep(0.005)
        assert writer.is_alive() and issued[0] >= seen + 3
        assert _wal_restarts(wal) > before
    finally:
        stop.set()
        writer.join(30)
        conn.close()
