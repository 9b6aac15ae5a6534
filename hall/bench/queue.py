"""``hall bench queue``: issue rate and call-next latency with 10,000 tickets waiting.

Commits are durable (WAL, synchronous=FULL) exactly as in production.  The floors,
measured in the same run in the same folder, each the better of a round before and
one after:

* a bare durable commit of one row (``floor_commit_p99_ms``, ``floor_commits_per_s``);
  ``call_next_p99_ratio`` is call-next's p99 over that commit's, ``issue_ratio`` the
  issue rate over the commit rate;
* a durable commit of call-next's shape of write without its logic
  (:func:`hall.bench.floors.sqlite_shaped_commits`: two rows of an indexed table as
  large as the waiting list moved, a small row changed, a case and six events added):
  ``call_next_p99_shaped_ratio``.  A call must write those pages however little it
  computes; the plain one-row commit writes a fraction of them, so the shaped ratio
  is the fair one for "call next at most 2x a commit" (#16).

``service_call_*``: the same clerk's call as it arrives at the engine service, with
the whole waiting list behind it: the command checked, applied and committed, its
window's state, the alerts, the other windows' waiting lists and the board published
(encoded, sent nowhere); ``service_call_p99_ratio`` over the one-row commit.  What a
call costs the engine beyond ``call_next`` itself, and nothing of it may grow with
the waiting list (it did: a count over it, 8 ms at 6,000 waiting).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from hall.bench import floors
from hall.core.clock import FakeClock
from hall.core.stats import percentile
from kiosk.engine.config import parse_hall_config
from kiosk.engine.engine import QueueEngine
from kiosk.engine.service import EngineService
from sync import topics
from sync.client import Message, encode

BENCH_PIN = "1357"  # the bench hall's clerks (a made-up hall, never deployed)


def bench_config(queues: int = 4, windows: int = 10) -> dict[str, Any]:
    from hall.core.pins import hash_pin

    ids = [chr(ord("A") + i) for i in range(queues)]
    pin_hash = hash_pin(BENCH_PIN, n=2**10)  # the least work factor accepted: not measured
    return {
        "hall": {"id": "bench-hall", "name": "基准测试大厅"},
        "queues": [{"id": q, "name": f"业务{q}", "prefix": q, "last_number": 99999} for q in ids],
        "items": [{"id": f"{q.lower()}1", "name": f"事项{q}", "queue": q} for q in ids],
        "windows": [
            {"id": str(n), "name": f"{n}号窗口", "queues": ids} for n in range(1, windows + 1)
        ],
        "staff": [
            {"id": f"c{n}", "name": f"工作人员{n}", "staff_no": f"c{n}", "pin_hash": pin_hash}
            for n in range(1, windows + 1)
        ],
        "limits": {"per_person_daily": 5},
        "devices": [
            {"id": f"caller-{n}", "role": "caller", "window": str(n)} for n in range(1, windows + 1)
        ],
    }


class _Encoded:
    """The service's link, encoding what it is given as the real one does before the
    network (:func:`sync.client.encode`), sending it nowhere."""

    def publish(self, topic: str, payload: Any, **_kw: Any) -> None:
        encode(payload)


def _service_calls(engine: QueueEngine, windows: list[str], calls: int) -> list[float]:
    """Milliseconds of each clerk's call_next through the engine service, as a caller's
    command arrives: checked, applied, committed, its window's state published, the
    alerts evaluated, the other windows' waiting lists and the board published."""
    service = EngineService(engine, _Encoded(), idle_sweep_s=0)  # type: ignore[arg-type]
    service.publish_all()

    def press(window: str, cmd: str) -> None:
        payload = {"cmd": cmd}
        raw = encode(payload)
        message = Message(
            topics.command(engine.config.hall_id, f"caller-{window}"), payload, raw, retain=False
        )
        answers: list[dict[str, Any]] = []
        service.handle_batch([message], lambda _m, answer: answers.append(answer))
        if not answers[0]["ok"]:
            raise RuntimeError(f"{cmd} at window {window} was refused: {answers[0]['error']}")

    latencies = []
    for n in range(calls):
        window = windows[n % len(windows)]
        t = time.perf_counter()
        press(window, "call_next")
        latencies.append((time.perf_counter() - t) * 1000)
        press(window, "start")
    return latencies


def run(args: argparse.Namespace) -> dict[str, Any]:
    waiting = 1000 if getattr(args, "quick", False) else 10000
    calls = 200 if getattr(args, "quick", False) else 1000
    config = parse_hall_config(bench_config())
    with tempfile.TemporaryDirectory(prefix="hall-bench-") as tmp:
        floor = floors.sqlite_commits(Path(tmp), 200 if getattr(args, "quick", False) else 500)
        shaped = floors.sqlite_shaped_commits(
            Path(tmp), 200 if getattr(args, "quick", False) else 500, rows=waiting
        )
        clock = FakeClock(datetime(2026, 11, 23, 10, 0))
        engine = QueueEngine(config, Path(tmp) / "engine.db", clock=clock)
        queues = [q.id for q in config.queues]
        t0 = time.perf_counter()
        issued = waiting + calls + calls // 2  # each call, alone or by the service, has
        for n in range(issued):  # ``waiting`` behind it
            engine.issue(
                queue_id=queues[n % len(queues)], priority_reason="elderly" if n % 10 == 0 else None
            )
        issue_s = time.perf_counter() - t0
        for w in config.windows:
            engine.login(w.id, f"c{w.id}", BENCH_PIN)
        latencies = []
        windows = [w.id for w in config.windows]
        for n in range(calls):
            window = windows[n % len(windows)]
            t = time.perf_counter()
            result = engine.call_next(window)
            latencies.append((time.perf_counter() - t) * 1000)
            assert result.ticket is not None
            engine.start(window)  # the next call_next at this window finishes it
        served = _service_calls(engine, windows, calls // 2)
        left = sum(engine.waiting_count(q) for q in queues)  # every queue's, counted
        engine.close()
        after = floors.sqlite_commits(Path(tmp), 200 if getattr(args, "quick", False) else 500)
        shaped_after = floors.sqlite_shaped_commits(
            Path(tmp), 200 if getattr(args, "quick", False) else 500, rows=waiting
        )
    shaped_p99 = min(
        shaped["floor_shaped_commit_p99_ms"], shaped_after["floor_shaped_commit_p99_ms"]
    )
    # the floor: the better of the two rounds (before and after), each in the same folder
    floor_p99 = min(floor["floor_commit_p99_ms"], after["floor_commit_p99_ms"])
    floor_rate = max(floor["floor_commits_per_s"], after["floor_commits_per_s"])
    issue_per_s = round(issued / issue_s, 1)
    call_p99 = round(percentile(latencies, 99), 3)
    service_p99 = round(percentile(served, 99), 3)
    return {
        "bench": "queue",
        "waiting": waiting,
        "issue_per_s": issue_per_s,
        "call_next_p50_ms": round(statistics.median(latencies), 3),
        "call_next_p99_ms": call_p99,
        "calls": calls,
        "service_call_p50_ms": round(statistics.median(served), 3),
        "service_call_p99_ms": service_p99,
        "service_calls": len(served),  # calls // 2
        "waiting_after": left,
        "durable": "WAL+synchronous=FULL",
        "floor_commit_p50_ms": min(floor["floor_commit_p50_ms"], after["floor_commit_p50_ms"]),
        "floor_commit_p99_ms": floor_p99,
        "floor_commits_per_s": floor_rate,
        "floor_shaped_commit_p99_ms": shaped_p99,
        "call_next_p99_ratio": floors.ratio(call_p99, floor_p99),
        "call_next_p99_shaped_ratio": floors.ratio(call_p99, shaped_p99),
        "service_call_p99_ratio": floors.ratio(service_p99, floor_p99),
        "issue_ratio": floors.ratio(issue_per_s, floor_rate),
    }
