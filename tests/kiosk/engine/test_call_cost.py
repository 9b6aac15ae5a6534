"""#16: the engine's work for one clerk's call does not grow with the day.

A clerk's ``call_next`` goes through the whole service: the command checked and
applied, the window's state, the alerts, the other windows' waiting lists and the
board.  Each of those must read what it needs through an index or a kept count, never
count or scan the waiting list: with 6,000 waiting a call took 15.7 ms (p50) here while
the alerts counted the list, 6.5 ms once they read the kept counts.  Work is counted in
SQLite's virtual-machine steps (its progress handler), which do not depend on the
machine's speed or load.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from clerks import TEST_PIN

from kiosk.engine.engine import QueueEngine
from kiosk.engine.service import EngineService
from sync import topics
from sync.client import Message

STEP = 10  # the progress handler is called every STEP virtual-machine instructions


class _Published:
    def publish(self, topic: str, payload: dict, **_kw: object) -> None:
        pass


def _command(device: str, payload: dict) -> Message:
    return Message(
        topics.command("t-hall", device), payload, json.dumps(payload).encode(), retain=False
    )


def _steps(conn, work: Callable[[], None]) -> int:
    count = [0]

    def tick() -> int:
        count[0] += 1
        return 0  # go on

    conn.set_progress_handler(tick, STEP)
    try:
        work()
    finally:
        conn.set_progress_handler(None, 0)
    return count[0] * STEP


def _call_steps(engine: QueueEngine, waiting_per_queue: int) -> int:
    for _ in range(waiting_per_queue):
        engine.issue(queue_id="A")
        engine.issue(queue_id="B")
    for w in ("1", "2"):
        engine.login(w, w, TEST_PIN)
    service = EngineService(engine, _Published(), idle_sweep_s=0)  # type: ignore[arg-type]
    service.publish_all()
    answers: list[dict] = []

    def press(cmd: str) -> None:
        service.handle_batch(
            [_command("caller-1", {"cmd": cmd})], lambda _m, answer: answers.append(answer)
        )

    press("call_next")  # the first call of the day fills what is kept (read once)
    press("start")
    steps = _steps(engine.conn, lambda: press("call_next"))
    assert all(a["ok"] for a in answers), answers
    return steps


def test_a_call_through_the_service_costs_the_same_with_20_or_2000_waiting(make_engine, small_hall):
    hall = small_hall(devices=[{"id": "caller-1", "role": "caller", "window": "1"}])
    for q in hall["queues"]:
        q["last_number"] = 9999
    few = _call_steps(make_engine(hall, db="few.db"), 10)
    many = _call_steps(make_engine(hall, db="many.db"), 1000)
    # B-trees a level deeper cost a few steps more; a count over the list costs thousands
    assert many <= few * 1.25 + 200, (few, many)


def test_the_longest_wait_is_the_oldest_ticket_still_waiting(make_engine, small_hall, clock):
    """What the alerts and the console say of a queue: its count and its longest wait,
    after the oldest was called and a ticket was sent to a window."""
    engine = make_engine(small_hall())
    for _ in range(3):
        engine.issue(queue_id="A")
        clock.advance(minutes=10)
    engine.issue(queue_id="B")
    clock.advance(minutes=5)  # A001 waited 35 min, A002 25, A003 15, B001 5

    def loads() -> dict[str, tuple[int, float]]:
        queues, _windows, _bad, _extra = engine._snapshot()
        return {q.id: (q.waiting, q.longest_wait_min) for q in queues}

    assert loads() == {"A": (3, 35.0), "B": (1, 5.0)}
    engine.login("1", "1", TEST_PIN)
    engine.login("2", "2", TEST_PIN)
    called = engine.call_next("1").ticket
    assert called is not None and called.code == "A001"
    assert loads() == {"A": (2, 25.0), "B": (1, 5.0)}
    engine.transfer("1", to_window="2")  # A001 waits again, for window 2 (queue A)
    assert loads()["A"] == (3, 35.0)  # it keeps the time it was issued
    assert engine.call_next("2").ticket.code == "A001"  # type: ignore[union-attr]
    assert engine.call_next("1").ticket.code == "A002"  # type: ignore[union-attr]
    assert loads() == {"A": (1, 15.0), "B": (1, 5.0)}
