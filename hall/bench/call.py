"""``hall bench call``: from a clerk's keypress to the window display showing the call.

Topology as in a hall: a private Mosquitto; the queue engine in its own
process (the queue host) with a generated hall of 50 windows (10 queues, 5
windows each); here, 50 caller apps each with its own hall link and the 50
window displays on one display-side link.  Each call feeds a real
``evdev.InputEvent`` press (keypad Enter) through the caller's key decoder;
the caller sends ``call_next``; the engine commits it and publishes the
window state; the clock stops when that window's ``WindowDisplay`` has
applied the state showing the new number.  Calls arrive at a steady rate
over the windows (each window: call, start, call ...), far above a real
hall's load; ``burst50`` has all 50 windows press at the same moment.

The floors, measured in the same run: ``floor_rtt_*`` a request's round trip to
a device that answers at once on the same broker (the call's path is one such
round trip and a commit), ``floor_commit_*`` a durable SQLite commit in the
engine's folder; ``p99_ratio`` / ``p50_ratio`` the call's over the round trip's.

Latency needs Nagle's algorithm off on the hall plane: ``sync.broker`` and the
hall Mosquitto config set ``set_tcp_nodelay true`` and every ``MqttLink`` sets
``TCP_NODELAY`` on its socket.  Without it, the engine's burst of state
messages waits for delayed ACKs (about 40 ms each hop).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from hall.bench import floors
from hall.core.stats import percentile
from sync.mqtt import MqttLink

log = logging.getLogger(__name__)

WINDOWS = 50
QUEUES = 10
RATE_PER_S = 20.0  # calls per second over the whole hall (a real 50-window hall: < 1)


BENCH_PIN = "1357"  # the bench hall's clerks (a made-up hall, never deployed)


def hall_config(windows: int = WINDOWS, queues: int = QUEUES) -> dict[str, Any]:
    from hall.core.pins import hash_pin

    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    # the least work factor accepted: 50 logins at start-up, not what is measured
    pin_hash = hash_pin(BENCH_PIN, n=2**10)
    return {
        "version": 1,
        "hall": {"id": "bench-hall", "name": "压测大厅"},
        "queues": [
            {"id": letters[q], "name": f"业务{q + 1}", "prefix": letters[q], "last_number": 9999}
            for q in range(queues)
        ],
        "items": [
            {"id": f"item-{q}", "name": f"事项{q + 1}", "queue": letters[q]} for q in range(queues)
        ],
        "windows": [
            {
                "id": str(w),
                "name": f"{w}号窗口",
                "department": "综合受理",
                "queues": [letters[(w - 1) % queues]],
            }
            for w in range(1, windows + 1)
        ],
        "staff": [
            {
                "id": str(1000 + w),
                "name": f"工作人员{w}",
                "staff_no": str(1000 + w),
                "pin_hash": pin_hash,
            }
            for w in range(1, windows + 1)
        ],
        "devices": [{"id": "kiosk-1", "role": "kiosk"}]
        + [
            {"id": f"caller-{w}", "role": "caller", "window": str(w)} for w in range(1, windows + 1)
        ],
        "hours": {
            "weekdays": [1, 2, 3, 4, 5, 6, 7],
            "sessions": [["00:00", "23:59"]],
            "stop_issuing_before_close_min": 0,
        },
        "limits": {"per_person_daily": 1000},
    }


def _engine_process(
    config: dict[str, Any], db: str, host: str, port: int, tickets: int, ready: Any, stop: Any
) -> None:
    """The queue host: a hall with every window logged in and tickets waiting."""
    from hall.core.clock import FakeClock
    from kiosk.engine.config import parse_hall_config
    from kiosk.engine.engine import QueueEngine
    from kiosk.engine.service import EngineService

    cfg = parse_hall_config(config)
    engine = QueueEngine(cfg, db, clock=FakeClock(datetime(2026, 11, 23, 9, 0)))
    for q in cfg.queues:
        for _ in range(tickets):
            engine.issue(queue_id=q.id)
    for w in cfg.windows:
        engine.login(w.id, str(1000 + int(w.id)), BENCH_PIN)
    link = MqttLink(
        host=host, port=port, hall_id=cfg.hall_id, device_id="engine", role="engine"
    ).start()
    EngineService(engine, link).start()
    ready.set()
    stop.wait(600)
    link.stop()
    engine.close()


class _Driver:
    """Presses keys on a schedule and times each call until its display shows it."""

    def __init__(
        self,
        app: Any,
        callers: dict[str, Any],
        displays: dict[str, Any],
        press: Callable[[str], list[Any]],
    ) -> None:
        self.app = app
        self.callers = callers
        self.press = press
        self.ready = list(callers)  # windows that may call now, in turn
        self.pending: dict[str, float] = {}  # window -> keypress time of its call
        self.starting: set[str] = set()
        self.latencies: list[float] = []
        self.target = 0
        self.errors: list[str] = []
        for window, d in displays.items():
            d.state_applied.connect(lambda state, w=window: self._applied(w, state))
        for window, c in callers.items():
            c.command_done.connect(lambda cmd, ok, res, w=window: self._done(w, cmd, ok, res))

    def call(self, window: str) -> None:
        self.pending[window] = time.perf_counter()
        actions = self.callers[window].feed_keys(self.press("KEY_KPENTER"))
        if actions != ["call_next"]:
            self.errors.append(f"{window}: the keypad gave {actions}")
            self.app.quit()

    def tick(self) -> None:
        if len(self.latencies) + len(self.pending) >= self.target or not self.ready:
            return
        self.call(self.ready.pop(0))

    def _applied(self, window: str, state: dict[str, Any]) -> None:
        from hall.ui.qt import QTimer  # Qt only once the engine's process is spawned

        current = state.get("current") or {}
        if window in self.pending and current.get("status") == "called":
            self.latencies.append((time.perf_counter() - self.pending.pop(window)) * 1000)
            self.starting.add(window)
            # start: serve the citizen, after the states already delivered (the clerk's
            # press is another machine's work, not part of the next display's time)
            QTimer.singleShot(0, lambda w=window: self.callers[w].feed_keys(self.press("KEY_KP1")))
        elif window in self.starting and current.get("status") == "serving":
            self.starting.discard(window)
            self.ready.append(window)
        if len(self.latencies) >= self.target and not self.pending:
            self.app.quit()

    def _done(self, window: str, cmd: str, ok: bool, result: Any) -> None:
        if not ok:
            self.errors.append(f"{window} {cmd}: {result}")
            self.app.quit()


def run(args: argparse.Namespace) -> dict[str, Any]:
    from sync.broker import Mosquitto

    quick = bool(getattr(args, "quick", False))
    calls = 200 if quick else 1000
    rate = float(getattr(args, "rate", 0) or RATE_PER_S)
    logging.getLogger("sync.mqtt").setLevel(logging.WARNING)
    logging.getLogger("hall.ui.qtlink").setLevel(logging.ERROR)
    work = Path(tempfile.mkdtemp(prefix="hall-bench-call-"))
    broker = Mosquitto(workdir=work / "broker", persistence=False).start()
    ctx = mp.get_context("spawn")  # before Qt exists in this process
    ready, stop = ctx.Event(), ctx.Event()
    per_window = calls // WINDOWS + 3  # every window calls that often, and bursts once
    engine = ctx.Process(
        target=_engine_process,
        name="hall-bench-engine",
        args=(
            hall_config(),
            str(work / "engine.db"),
            broker.host,
            broker.port,
            per_window * (WINDOWS // QUEUES),
            ready,
            stop,
        ),
    )
    engine.start()
    try:
        if not ready.wait(120):
            raise RuntimeError("the bench engine did not start")
        line = _measure(broker, calls, rate)
        commit = floors.sqlite_commits(work, 100 if quick else 300)
        rtt = line.pop("_rtt")
        line.update(floors.summary("floor_rtt", rtt))
        line.update(commit)
        line["p50_ratio"] = floors.ratio(line["p50_ms"], line["floor_rtt_p50_ms"])
        line["p99_ratio"] = floors.ratio(line["p99_ms"], line["floor_rtt_p99_ms"])
        return line
    finally:
        stop.set()
        engine.join(15)
        if engine.is_alive():
            engine.kill()
            engine.join()
        broker.close()


def _measure(broker: Any, calls: int, rate: float) -> dict[str, Any]:
    from counter.app import tune_for_latency
    from counter.caller import CallerWindow
    from counter.display import WindowDisplay
    from drivers.keys.simulator import press_events
    from hall.ui.qt import QApplication, QTimer
    from hall.ui.qtlink import QtLink

    app = QApplication.instance() or QApplication(["hall-bench"])
    hall = hall_config()["hall"]["id"]
    links: list[MqttLink] = []
    qtlinks: list[Any] = []

    def qtlink(device: str, role: str) -> Any:
        lk = MqttLink(
            host=broker.host, port=broker.port, hall_id=hall, device_id=device, role=role
        ).start()
        links.append(lk)
        q = QtLink(lk)
        qtlinks.append(q)
        return q

    try:
        display_link = qtlink("display-bench", "display")
        displays, callers = {}, {}
        for w in range(1, WINDOWS + 1):
            window = str(w)
            displays[window] = WindowDisplay(display_link, window, "tv")
            displays[window].resize(1280, 720)
            callers[window] = CallerWindow(qtlink(f"caller-{window}", "caller"), window)
        deadline = time.monotonic() + 30
        while any(d.state is None for d in displays.values()) and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.002)

        rtt = floors.mqtt_round_trip(broker.host, broker.port, 200)
        driver = _Driver(app, callers, displays, press_events)
        tune_for_latency()  # as counter.app does for every window-side app
        timer = QTimer()
        timer.timeout.connect(driver.tick)
        interval = max(1, round(1000 / rate))

        def measure(target: int) -> list[float]:
            driver.latencies, driver.target = [], target
            timer.start(interval)
            guard = QTimer()
            guard.setSingleShot(True)
            guard.timeout.connect(app.quit)
            guard.start(int(target * interval) + 30000)
            app.exec()
            timer.stop()
            guard.stop()
            if driver.errors:
                raise RuntimeError(f"bench commands failed: {driver.errors[:3]}")
            if len(driver.latencies) < target:
                raise RuntimeError(f"only {len(driver.latencies)} of {target} calls were shown")
            return list(driver.latencies)

        measure(WINDOWS)  # warm up: each window calls once
        steady = measure(calls)
        settle = time.monotonic() + 0.5  # past the keypad's debounce of the last presses
        while len(driver.ready) < WINDOWS or time.monotonic() < settle:
            app.processEvents()
            time.sleep(0.001)
        driver.latencies, driver.target = [], WINDOWS
        for window in list(driver.ready):  # burst: every window presses at once
            driver.ready.remove(window)
            driver.call(window)
        app.exec()
        burst = list(driver.latencies)
        return {
            "bench": "call",
            "windows": WINDOWS,
            "calls": len(steady),
            "rate_per_s": rate,
            "p50_ms": round(statistics.median(steady), 2),
            "p99_ms": round(percentile(steady, 99), 2),
            "max_ms": round(max(steady), 2),
            "burst50_p50_ms": round(statistics.median(burst), 2),
            "burst50_max_ms": round(max(burst), 2),
            "tcp_nodelay": True,
            "_rtt": rtt,
        }
    finally:
        for c in callers.values() if "callers" in locals() else ():
            c.shutdown()
        for q in qtlinks:
            q.close()
        for lk in reversed(links):
            lk.stop()
