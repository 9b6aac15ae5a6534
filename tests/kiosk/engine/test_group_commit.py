"""Group commit: commands that arrive together share one durable commit, and each is
answered only once its change is on disk (a crash before the commit loses nothing
that was answered); a burst of presses calls distinct tickets, in order."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from datetime import datetime
from pathlib import Path

import pytest
from clerks import TEST_PIN

from hall.bench import call as call_bench
from hall.core.clock import FakeClock
from kiosk.engine.config import parse_hall_config
from kiosk.engine.engine import QueueEngine
from kiosk.engine.service import EngineService
from sync import topics
from sync.client import Message
from sync.mqtt import LinkError, MqttLink

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.broker


def _command(device: str, payload: dict) -> Message:
    return Message(
        topics.command("t-hall", device), payload, json.dumps(payload).encode(), retain=False
    )


class _Published:
    """The service's publishing side, recorded (these tests look at the database)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []

    def publish(self, topic: str, payload: dict, **_kw: object) -> None:
        self.sent.append((topic, payload))


def _committed_codes(db: Path) -> list[str]:
    """The tickets another connection sees: only what was committed."""
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT code FROM tickets ORDER BY number")]
    finally:
        conn.close()


def test_a_group_is_answered_after_its_one_commit_and_a_refusal_leaves_nothing(
    make_engine, small_hall, tmp_path
):
    engine = make_engine(small_hall(devices=[{"id": "kiosk-1", "role": "kiosk"}]))
    service = EngineService(engine, _Published(), idle_sweep_s=0)  # type: ignore[arg-type]
    burst = [
        _command("kiosk-1", {"cmd": "issue", "queue": "A"}),
        _command("kiosk-1", {"cmd": "issue", "queue": "nope"}),  # refused
        _command("kiosk-1", {"cmd": "issue", "item": "b1"}),
        _command("kiosk-1", {"cmd": "issue", "queue": "A"}),
    ]
    answered: list[tuple[dict, list[str]]] = []
    # each answer is given with everything of its group already visible to others
    service.handle_batch(
        burst,
        lambda _m, answer: answered.append((answer, _committed_codes(tmp_path / "engine.db"))),
    )
    assert [a["ok"] for a, _seen in answered] == [True, False, True, True]
    assert answered[1][0]["error"]["code"] == "unknown_queue"
    codes = [a["result"]["ticket"]["code"] for a, _seen in answered if a["ok"]]
    assert codes == ["A001", "B001", "A002"]
    for _answer, seen in answered:
        assert sorted(seen) == sorted(codes)
    kinds = [r[0] for r in engine.conn.execute("SELECT kind FROM outbox ORDER BY seq")]
    assert kinds.count("ticket_issued") == 3  # the refused one left no event


CRASHING_ENGINE = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import datetime
    from pathlib import Path
    from hall.core.clock import FakeClock
    from kiosk.engine.config import load_hall_config
    from kiosk.engine.engine import QueueEngine
    from kiosk.engine.service import EngineService
    from sync.mqtt import MqttLink

    db, host, port, kill_after = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    demo = Path("assets/halls/demo.yaml")
    engine = QueueEngine(load_hall_config(demo), db, clock=FakeClock(datetime(2026, 11, 23, 9, 30)))
    link = MqttLink(host=host, port=port, hall_id="demo-hall", device_id="engine", role="engine")
    link.start()
    service = EngineService(engine, link, idle_sweep_s=0)
    applied = [0]
    apply = service._apply

    def apply_then_maybe_die(message):
        done = apply(message)
        applied[0] += 1
        if applied[0] == kill_after:  # applied, its group not yet committed
            os.kill(os.getpid(), signal.SIGKILL)
        return done

    service._apply = apply_then_maybe_die
    service.start()
    print("ready", flush=True)
    sys.stdin.read()
    """
)


def test_an_engine_killed_between_apply_and_commit_loses_no_answered_ticket(
    broker, device, tmp_path
):
    db = tmp_path / "engine.db"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = subprocess.Popen(
        [sys.executable, "-c", CRASHING_ENGINE, str(db), broker.host, str(broker.port), "8"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        kiosk = device("kiosk-1")
        topic = topics.command("demo-hall", "kiosk-1")
        answered: list[str] = []
        for _ in range(5):  # one by one: each its own group
            r = kiosk.request(topic, {"cmd": "issue", "item": "gjj-query"}, timeout=10)
            answered.append(r["result"]["ticket"]["code"])
        lock = threading.Lock()

        def press() -> None:
            try:
                r = kiosk.request(topic, {"cmd": "issue", "item": "gjj-query"}, timeout=5)
            except LinkError:  # the engine died before answering: the citizen got no ticket
                return
            with lock:
                answered.append(r["result"]["ticket"]["code"])

        burst = [threading.Thread(target=press) for _ in range(5)]
        for t in burst:
            t.start()
        for t in burst:
            t.join(15)
        assert child.wait(15) == -9
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                pipe.close()
    stored = _committed_codes(db)
    assert answered[:5] == ["D001", "D002", "D003", "D004", "D005"]
    assert set(answered) <= set(stored)  # nothing answered was lost
    # the eighth was applied, never committed: gone with the rest of its group
    assert "D008" not in stored
    assert stored == [f"D{n:03d}" for n in range(1, len(stored) + 1)]
    conn = sqlite3.connect(db)
    events = [
        json.loads(r[0])["code"]
        for r in conn.execute("SELECT payload FROM outbox WHERE kind='ticket_issued'")
    ]
    conn.close()
    assert events == stored  # each ticket committed with its event, none without


def test_fifty_windows_pressing_at_once_call_fifty_distinct_tickets_in_order(broker, tmp_path):
    config = call_bench.hall_config(windows=50, queues=1)
    config["hall"]["id"] = "t-hall"
    cfg = parse_hall_config(config)
    db = tmp_path / "engine.db"
    engine = QueueEngine(cfg, db, clock=FakeClock(datetime(2026, 11, 23, 9, 0)))
    for _ in range(60):
        engine.issue(queue_id="A")
    for w in cfg.windows:
        engine.login(w.id, str(1000 + int(w.id)), call_bench.BENCH_PIN)
    link = MqttLink(host=broker.host, port=broker.port, hall_id="t-hall", device_id="engine")
    service = EngineService(engine, link, idle_sweep_s=0)
    groups: list[int] = []
    handle_batch = service.handle_batch

    def recording(messages, respond):  # type: ignore[no-untyped-def]
        groups.append(len(messages))
        handle_batch(messages, respond)

    service.handle_batch = recording  # type: ignore[method-assign]
    links = [link.start()]
    try:
        service.start()
        callers = {}
        for w in cfg.windows:
            callers[w.id] = MqttLink(
                host=broker.host, port=broker.port, hall_id="t-hall", device_id=f"caller-{w.id}"
            ).start()
            links.append(callers[w.id])
        go = threading.Barrier(len(callers))
        answers: dict[str, tuple[dict, str | None]] = {}
        lock = threading.Lock()

        def press(window: str) -> None:
            go.wait(10)
            r = callers[window].request(
                topics.command("t-hall", f"caller-{window}"), {"cmd": "call_next"}, timeout=20
            )
            seen = None
            if r.get("ok"):  # durable when answered: another connection sees the call
                conn = sqlite3.connect(db)
                row = conn.execute(
                    "SELECT window_id FROM tickets WHERE code=? AND status='called'",
                    (r["result"]["ticket"]["code"],),
                ).fetchone()
                conn.close()
                seen = row[0] if row else None
            with lock:
                answers[window] = (r, seen)

        threads = [threading.Thread(target=press, args=(w,)) for w in callers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        service.stop()
        for lk in reversed(links):
            lk.stop()
    assert len(answers) == 50 and all(r["ok"] for r, _seen in answers.values())
    assert all(seen == window for window, (_r, seen) in answers.items())
    codes = [r["result"]["ticket"]["code"] for r, _seen in answers.values()]
    assert sorted(codes) == [f"A{n:04d}" for n in range(1, 51)]  # the first fifty waiting
    called = [
        json.loads(r[0])["code"]
        for r in engine.conn.execute("SELECT payload FROM outbox WHERE kind='ticket_called'")
    ]
    assert called == sorted(called)  # called in the order they were issued
    assert sum(groups) == 50 and len(groups) < 50  # bursts shared commits
    engine.close()


class _Info:
    """A paho publish that the broker never acknowledges (a link gone quiet)."""

    rc = 0

    def __init__(self, log: list[str], topic: str) -> None:
        self.log, self.topic = log, topic

    def wait_for_publish(self, timeout: float) -> None:
        self.log.append(f"waited {timeout} for {self.topic}")


class _Unacked:
    def __init__(self) -> None:
        self.log: list[str] = []

    def publish(self, topic: str, payload: dict, **_kw: object) -> _Info:
        self.log.append(f"sent {topic}")
        return _Info(self.log, topic)


def test_the_callers_window_state_is_on_its_way_before_the_rest_and_a_silent_broker_costs_little(
    make_engine, small_hall
):
    """After a call the window's state (and the call) are sent, then awaited at most
    HANDOVER_WAIT_S, before the other windows, the board and the answer: a broker that
    never acknowledges delays the rest by that much, and nothing is lost."""
    from kiosk.engine import service as service_module

    devices = [
        {"id": "kiosk-1", "role": "kiosk"},
        {"id": "caller-1", "role": "caller", "window": "1"},
    ]
    engine = make_engine(small_hall(devices=devices))
    link = _Unacked()
    service = EngineService(engine, link, idle_sweep_s=0)  # type: ignore[arg-type]
    service.handle(_command("kiosk-1", {"cmd": "issue", "queue": "A"}))
    assert engine.login("1", "1", TEST_PIN) is None
    link.log.clear()
    answered: list[str] = []
    service.handle_batch(
        [_command("caller-1", {"cmd": "call_next"})],
        lambda _m, answer: answered.append(answer["result"]["ticket"]["code"]),
    )
    assert answered == ["A001"]
    state, call = topics.window_state("t-hall", "1"), topics.call("t-hall", "1")
    assert link.log[:3] == [f"sent {state}", f"sent {call}", f"waited 0.005 for {state}"]
    assert service_module.HANDOVER_WAIT_S == 0.005
    assert any(e == f"sent {topics.board('t-hall')}" for e in link.log[3:])  # then the rest
