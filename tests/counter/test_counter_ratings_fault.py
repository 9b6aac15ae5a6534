"""Ratings survive a broker restart and an evaluator killed with SIGKILL: each counted once,
from the button evaluator and from the tablet (#14) alike.

The engine's clock is the fixed test morning (``hall_clock``); each evaluator
process gets a clock that starts at the engine's time, as a hall's NTP-synced
devices agree.  On the system clock, the evaluator would judge every retained
finish of that morning stale (older than ``stale_after_s``) once the real date
is past it, and never prompt at start-up.
"""

from __future__ import annotations

import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from clerks import DEMO_PIN

from counter.ratings_store import RatingsStore
from sync import topics
from sync.mqtt import LinkError

pytestmark = [pytest.mark.broker, pytest.mark.slow]
CHILD = Path(__file__).with_name("evaluator_child.py")
WAIT = 15.0


class Child:
    """The evaluator app in a process we can kill -9; its stdout lines arrive on a queue."""

    def __init__(self, port: int, db: Path, start: str, mode: str = "buttons") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(port), str(db), start, mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.backlog: list[list[str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def expect(self, word: str) -> list[str]:
        """The next line starting with ``word``; other lines wait for their own expect."""
        for i, parts in enumerate(self.backlog):
            if parts[0] == word:
                return self.backlog.pop(i)[1:]
        while True:
            try:
                line = self.lines.get(timeout=WAIT)
            except queue.Empty:
                pytest.fail(f"the evaluator did not say {word!r} within {WAIT}s")
            parts = line.split()
            if parts and parts[0] == word:
                return parts[1:]
            if parts:
                self.backlog.append(parts)

    def press(self, level: int) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"press {level}\n")
        self.proc.stdin.flush()

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(WAIT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self._reader.join(WAIT)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def engine_rows(engine_service) -> list[tuple[str, str, int]]:
    conn = engine_service.engine.conn
    return [tuple(r) for r in conn.execute("SELECT rating_id, ticket_id, level FROM ratings")]


def ticket_id(engine_service, code: str) -> str:
    conn = engine_service.engine.conn
    return str(conn.execute("SELECT id FROM tickets WHERE code=?", (code,)).fetchone()[0])


def evaluator_states(db: Path) -> list[str]:
    """The evaluator's own record of each rating, read beside the running evaluator."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=WAIT)
    try:
        return [r[0] for r in conn.execute("SELECT state FROM ratings")]
    finally:
        conn.close()


def evaluation_events(engine_service) -> int:
    conn = engine_service.engine.conn
    return conn.execute("SELECT count(*) FROM outbox WHERE kind='evaluation'").fetchone()[0]


@pytest.mark.parametrize("mode", ["buttons", "tablet"])
def test_every_pressed_rating_reaches_the_engine_exactly_once(
    broker, hall, engine_service, tmp_path, mode
):
    db = tmp_path / "evaluator.db"
    hall_time = engine_service.engine.clock.now().isoformat()
    committed: dict[str, tuple[str, int]] = {}  # rating_id -> (ticket_id, level)
    children: list[Child] = []

    def rate(child: Child, level: int, *, serve: bool = True) -> str:
        if serve:
            hall.serve("1", "1001")
        (prompted,) = child.expect("prompt")
        child.press(level)
        rating_id, rated_ticket = child.expect("committed")
        assert rated_ticket == prompted
        committed[rating_id] = (prompted, level)
        return prompted

    def links_up() -> None:
        """Reconnected, and the engine subscribed again (a command sent between the
        engine's CONNACK and its SUBSCRIBE reaching the broker is lost: retry until answered)."""
        for link in (engine_service.link, hall.link("kiosk-1"), hall.link("caller-1")):
            assert link.connected.wait(WAIT), f"{link.device_id} did not reconnect"
        kiosk = hall.link("kiosk-1")
        for _ in range(10):
            try:
                kiosk.request(topics.command("demo-hall", "kiosk-1"), {"cmd": "board"}, timeout=1.0)
                return
            except LinkError:
                continue
        pytest.fail("the engine does not answer after the broker restart")

    try:
        hall.cmd("1", {"cmd": "login", "clerk": "1001", "pin": DEMO_PIN})
        first = Child(broker.port, db, hall_time, mode)
        children.append(first)
        first.expect("ready")
        rate(first, 1)
        rate(first, 2)

        # The broker dies after a prompt: the press is stored and waits for the broker.
        hall.serve("1", "1001")
        broker.kill()
        rate(first, 3, serve=False)
        broker.start()
        links_up()
        rate(first, 4)  # 不满意: the reasons page opens; the press is stored as a draft
        first.kill9()  # killed on the reasons page, before anything was sent

        unseen = hall.serve("1", "1001")  # finished while no evaluator ran
        second = Child(broker.port, db, hall_time, mode)
        children.append(second)
        second.expect("ready")
        # prompted at start-up from the retained window state, for that very ticket
        assert rate(second, 5, serve=False) == ticket_id(engine_service, unseen)
        second.kill9()  # right after 谢谢, perhaps before the engine answered

        third = Child(broker.port, db, hall_time, mode)
        children.append(third)
        third.expect("ready")
        rate(third, 2)

        third.expect("acked")
        # Everything the killed evaluators left pending was resent at start-up.
        deadline = time.monotonic() + WAIT
        while len(engine_rows(engine_service)) < len(committed) and time.monotonic() < deadline:
            threading.Event().wait(0.05)
        # ... and the evaluator heard each answer (the engine's row comes before its ack)
        while set(evaluator_states(db)) - {"acked"} and time.monotonic() < deadline:
            threading.Event().wait(0.05)
    finally:
        for child in children:
            child.stop()

    rows = engine_rows(engine_service)
    assert len(rows) == len(committed) == 6
    assert {r[0]: (r[1], r[2]) for r in rows} == committed
    assert evaluation_events(engine_service) == 6  # the center will count each once
    store = RatingsStore(db)
    rows = store._conn.execute("SELECT channel, state FROM ratings").fetchall()
    store.close()
    channel = "tablet" if mode == "tablet" else "evaluator"
    assert [tuple(r) for r in rows] == [(channel, "acked")] * 6
