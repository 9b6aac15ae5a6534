"""``hall bench call``: from a clerk's keypress to the window display showing the call.

Topology as in a hall, each side in its own process: a private Mosquitto;
the queue engine (the queue host) with a generated hall of 50 windows (10
queues, 5 windows each); the 50 caller apps, ten to a process, each with its
own hall link (a hall's are each a device: fifty in one process took turns on
one GUI thread to send a burst's presses); the 50 window displays, ten to a
process and a link (a hall's each draw their own: 50 flashing in one process
would take turns).  This process runs no Qt: it starts the others, says when
each phase starts, measures the round-trip floor before any call and collects
the stamps.  Each call feeds a real ``evdev.InputEvent`` press (keypad Enter)
through the caller's key decoder, in the caller's process; the caller sends
``call_next``; the engine commits it and publishes the window state; the clock
stops when that window's ``WindowDisplay`` has applied the state showing the
new number (``shown``, stamped in the displays' process).  Calls arrive at a
steady rate over the windows (``--rate``, per second over the hall: each caller
process ticks at a fifth of it over its windows, the five a tick apart; each
window: call, start once its caller shows the call, call ...), far above a real
hall's load; ``burst50`` has all 50 windows press at the same moment: the
caller processes wait on one shared ``multiprocessing`` Event
(``burst50_press_spread_ms``: the last process's first press after the first
one's), and their clerks start serving once all fifty are shown on their callers.

The floors, measured in the same run: ``floor_rtt_*`` a request's round trip to
a device that answers at once on the same broker (the call's path is one such
round trip and a commit), ``floor_commit_*`` a durable SQLite commit in the
engine's folder; ``p99_ratio`` / ``p50_ratio`` the call's over the round trip's.

The trace: every call's time split hop by hop, ``hop_*_p50_ms`` (the median of
each hop over the steady calls).  ``time.perf_counter`` is the system's
monotonic clock, so all the processes stamp on the same clock.  ``press``
the keypress to the caller's request on the wire (the caller and its request
worker); ``broker_in`` to the engine's link receiving it;
``engine_queue`` to its batch handler starting; ``run`` the call's command checked and
applied (in the group's transaction); ``commit`` to the group's durable commit;
``publish`` to that window's state given to the link; ``send`` to paho's network
thread writing it to the socket; ``broker_out`` to the displays' link receiving it;
``parse`` its parsing and contract check there (paho's thread) and the hand-over; ``gui`` to the
display's ``apply_state`` on the GUI thread (the queued signal, the fan-out);
``apply`` the state applied.  Beyond the state, what the citizen sees and
hears: the displays are shown (offscreen, each drawn into its own backing
store) and each has the announcer of a ``voice.speaker: display`` hall;
``pixels_*`` runs from the keypress to the end of the window's first paint after
the state was applied (``hop_paint_p50_ms`` from applied to painted: the
platform's update request, 5 ms on offscreen, a frame on a real screen, and the
paint), ``voice_*`` to the announcement's first sample handed to the sound device
(a stamping output that finishes at once, so each call is measured from a quiet
speaker).  The burst's ``burst50_pixels_max_ms`` / ``burst50_voice_max_ms``: the
last after the first press; here a process draws ten displays one after
another, a hall's displays each draw their own.  ``cpu_ms_per_call_SIDE``: the CPU
each side used per steady call (its start included; ``displays`` and ``callers``
are the fifty devices together), ``burst50_cpu_ms_SIDE`` the burst's, to its last
paint: on a machine of two cores the burst is bounded by these sums.
``burst50_batches`` / ``burst50_commits`` / ``burst50_state_publishes`` count what
the engine did for the burst.

Latency needs Nagle's algorithm off on the hall plane: ``sync.broker`` and the
hall Mosquitto config set ``set_tcp_nodelay true`` and every ``MqttLink`` sets
``TCP_NODELAY`` on its socket.  Without it, the engine's burst of state
messages waits for delayed ACKs (about 40 ms each hop).
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import json
import logging
import multiprocessing as mp
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from hall.bench import floors
from hall.core.stats import percentile
from sync import topics
from sync.mqtt import MqttLink

log = logging.getLogger(__name__)

WINDOWS = 50
QUEUES = 10
ENGINE_DAY = datetime(2026, 11, 23, 9, 0)  # the engine's clock stands at this time
DISPLAY_PROCESSES = 5  # the displays, 10 to a process (a hall's each draw their own)
CALLER_PROCESSES = 5  # the callers, 10 to a process (a hall's are each a device of their own)
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


class _Trace:
    """Stamps (kind, window, perf_counter) of a call's hops; one per process."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, float]] = []
        self.mark: tuple[str, float] | None = None  # a phase's start (the burst)

    def add(self, kind: str, window: str) -> None:
        self.events.append((kind, window, time.perf_counter()))


def _window_of(topic: str, prefix: str) -> str:
    """``caller-7`` / ``.../window/7/state`` -> ``7`` (``""`` for any other topic)."""
    if prefix == "cmd":
        device = topics.device_of(topic) or ""
        return device[len("caller-") :] if device.startswith("caller-") else ""
    parts = topic.split("/")
    return parts[-2] if topic.endswith("/state") and "window" in parts else ""


def _trace_link(link: MqttLink, trace: _Trace, *, received: str = "", sent: str = "") -> None:
    """Stamp the window messages ``link`` receives (``received`` kind) and sends."""
    if received:
        receive = link._receive

        def traced_receive(msg: Any) -> None:
            cmd = received == "engine_in"
            w = _window_of(str(msg.topic), "cmd" if cmd else "state")
            if w and (not cmd or b'"call_next"' in msg.payload):  # a call's command
                trace.add(received, w)
            receive(msg)
            if w and not cmd:  # parsed, checked and handed over (to the GUI thread)
                trace.add("display_parsed", w)

        link._receive = traced_receive  # type: ignore[method-assign]
    if sent:
        publish = link.publish

        def traced_publish(topic: str, payload: Any, **kw: Any) -> Any:
            cmd = sent == "caller_out"
            w = _window_of(topic, "cmd" if cmd else "state")
            if w and (not cmd or payload.get("cmd") == "call_next"):
                trace.add(sent, w)
            return publish(topic, payload, **kw)

        link.publish = traced_publish  # type: ignore[method-assign]


_STATE_IN_PACKET = re.compile(rb"/window/([0-9]+)/state")


def _trace_wire(link: MqttLink, trace: _Trace) -> None:
    """Stamp ``wire`` when paho's network thread writes a window state to the socket."""
    client = link._client
    send = client._sock_send

    def traced_send(buf: bytes) -> int:
        sent = send(buf)
        if buf[:1] and buf[0] & 0xF0 == 0x30:  # a PUBLISH packet
            found = _STATE_IN_PACKET.search(bytes(buf[:120]))
            if found:
                trace.add("wire", found.group(1).decode())
        return sent

    client._sock_send = traced_send


def _trace_service(service: Any, trace: _Trace) -> None:
    """Stamp the engine's batches (start, each call applied, the durable commit) for the
    windows in them."""
    import kiosk.engine.service as service_module

    handle_batch = service.handle_batch
    batch: list[str] = []

    def traced_batch(messages: list[Any], respond: Any) -> None:
        calls = [m for m in messages if isinstance(m.payload, dict)]
        batch[:] = [_window_of(m.topic, "cmd") for m in calls if m.payload["cmd"] == "call_next"]
        for w in batch:
            trace.add("batch", w)
        if batch:  # the batches and commits counted: those with calls in them
            trace.add("batches", str(len(messages)))
        handle_batch(messages, respond)

    transaction = service_module.transaction

    @contextlib.contextmanager
    def traced_transaction(conn: Any) -> Any:
        with transaction(conn) as c:
            yield c
        if batch:  # the group's commit (not a command's nested savepoint)
            for w in batch:
                trace.add("commit", w)
            trace.add("commits", "")
            batch.clear()

    service.handle_batch = traced_batch
    apply_one = service._apply

    def traced_apply(message: Any) -> Any:
        w = _window_of(message.topic, "cmd")
        call = isinstance(message.payload, dict) and message.payload.get("cmd") == "call_next"
        done = apply_one(message)
        if call:
            trace.add("applied", w)
        return done

    service._apply = traced_apply
    service_module.transaction = traced_transaction  # type: ignore[assignment]


def _trace_apply(display: Any, trace: _Trace, shown: Any = None) -> None:
    """Stamp a display's ``apply_state`` (on the GUI thread) as it starts, and ``shown``
    once it shows a new call (``shown``: a shared counter of those; a state published
    again, its waiting list changed, is not a new call)."""
    apply_state = display.apply_state

    def traced(state: Any, **kw: Any) -> None:
        trace.add("gui", display.window_id)
        before = (display.model.code, display.model.call_count)
        apply_state(state, **kw)
        m = display.model
        if m.called and m.code and (m.code, m.call_count) != before:
            trace.add("shown", display.window_id)
            if shown is not None:
                with shown.get_lock():
                    shown.value += 1

    display.apply_state = traced


def _trace_paint(display: Any, trace: _Trace) -> None:
    """Stamp the end of each of a display's paints (its pixels drawn)."""
    paint = display.paintEvent

    def traced(event: Any) -> None:
        paint(event)
        trace.add("painted", display.window_id)

    display.paintEvent = traced


class _StampOutput:
    """The speaker's sound device: stamps when an announcement's first sample is handed
    to it, and finishes at once (the next call's voice does not wait for this one's three
    seconds of speech: what is measured is the machine's part)."""

    def __init__(self, trace: _Trace, window: str) -> None:
        self.trace, self.window = trace, window

    def play(self, wav: bytes, done: Callable[[bool], None]) -> None:
        from hall.ui.qt import QTimer

        self.trace.add("voice", self.window)
        QTimer.singleShot(0, lambda: done(False))

    def stop(self) -> None:
        return None


def _cpu_ms(pids: list[int]) -> float:
    """The CPU time (user + system) the processes ``pids`` have used so far, in ms."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total * 1000 / os.sysconf("SC_CLK_TCK")


def _cpu_split(
    sides: dict[str, list[int]], before: dict[str, float], per: float, key: str
) -> dict[str, float]:
    """``{key}_{side}``: each side's CPU since ``before``, divided by ``per``."""
    return {
        f"{key}_{side}": round((_cpu_ms(pids) - before[side]) / per, 2)
        for side, pids in sides.items()
    }


def _quiet_logs() -> None:
    logging.getLogger("sync.mqtt").setLevel(logging.WARNING)
    logging.getLogger("hall.ui.qtlink").setLevel(logging.ERROR)
    logging.getLogger("hall.ui.voice.announcer").setLevel(logging.WARNING)  # each call said


def _display_process(
    host: str, port: int, windows: list[str], ready: Any, stop: Any, shown: Any, trace_file: str
) -> None:
    """Some of the window displays on one link, each shown (offscreen, drawn into its own
    backing store) with the announcer of a ``voice.speaker: display`` hall."""
    from counter.display import WindowDisplay
    from hall.core.clock import FakeClock
    from hall.core.latency import tune_for_latency
    from hall.ui.qt import QApplication, QTimer
    from hall.ui.qtlink import QtLink
    from hall.ui.voice.announcer import Announcer
    from hall.ui.voice.pack import DEFAULT_PACK, VoicePack

    _quiet_logs()
    app = QApplication.instance() or QApplication(["hall-bench-displays"])
    trace = _Trace()
    hall = hall_config()["hall"]["id"]
    device = f"display-bench-{windows[0]}"
    link = MqttLink(host=host, port=port, hall_id=hall, device_id=device, role="display")
    _trace_link(link, trace, received="display_in")
    link.start()
    qtlink = QtLink(link)
    pack = VoicePack(DEFAULT_PACK)
    clock = FakeClock(ENGINE_DAY)  # the engine's day: the calls' times are not skew
    displays = {}
    for window in windows:
        announcer = Announcer(pack, _StampOutput(trace, window), clock=clock)
        display = WindowDisplay(qtlink, window, "tv", announcer=announcer)
        display.resize(1280, 720)
        _trace_apply(display, trace, shown)
        _trace_paint(display, trace)
        display.show()
        displays[window] = display

    def poll() -> None:
        if not ready.is_set() and all(d.state is not None for d in displays.values()):
            tune_for_latency()  # as counter.app does for every window-side app
            ready.set()
            timer.setInterval(250)  # then only for the stop: a display's own work is measured
        if stop.is_set():
            app.quit()

    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(20)
    app.exec()
    timer.stop()
    for display in displays.values():
        display.shutdown()
    qtlink.close()
    link.stop()
    Path(trace_file).write_text(json.dumps(trace.events))


def _engine_process(
    config: dict[str, Any],
    db: str,
    host: str,
    port: int,
    tickets: int,
    ready: Any,
    stop: Any,
    trace_file: str,
) -> None:
    """The queue host: a hall with every window logged in and tickets waiting."""
    from hall.core.clock import FakeClock
    from hall.core.latency import tune_for_latency
    from kiosk.engine.config import parse_hall_config
    from kiosk.engine.engine import QueueEngine
    from kiosk.engine.service import EngineService

    cfg = parse_hall_config(config)
    engine = QueueEngine(cfg, db, clock=FakeClock(ENGINE_DAY))
    for q in cfg.queues:
        for _ in range(tickets):
            engine.issue(queue_id=q.id)
    for w in cfg.windows:
        engine.login(w.id, str(1000 + int(w.id)), BENCH_PIN)
    trace = _Trace()
    link = MqttLink(host=host, port=port, hall_id=cfg.hall_id, device_id="engine", role="engine")
    _trace_link(link, trace, received="engine_in", sent="engine_out")
    _trace_wire(link, trace)
    link.start()
    service = EngineService(engine, link)
    _trace_service(service, trace)
    service.start()
    tune_for_latency()  # as the engine's own command does
    ready.set()
    stop.wait(600)
    link.stop()
    engine.close()
    Path(trace_file).write_text(json.dumps(trace.events))


class _Driver:
    """Presses keys on a schedule over one process's callers; a window calls again once
    its caller shows the last call served (the displays' processes time when each call was
    shown).  ``done`` is called once per phase: its calls all shown, or a failure."""

    def __init__(self, callers: dict[str, Any], press: Callable[[str], list[Any]]) -> None:
        self.callers = callers
        self.press = press
        self.ready = list(callers)  # windows that may call now, in turn
        self.pending: set[str] = set()  # windows whose call the caller has not shown yet
        self.starting: set[str] = set()
        self.presses: list[tuple[str, float]] = []  # (window, keypress time)
        self.seen = 0  # calls shown on their caller in this phase
        self.held: list[str] | None = None  # the burst: windows whose start waits for its end
        self.target = 0
        self.active = False  # a phase runs (``done`` not called yet)
        self.done: Callable[[], None] = lambda: None
        self.errors: list[str] = []
        for window, c in callers.items():
            c.state_applied.connect(lambda state, w=window: self._applied(w, state))
            c.command_done.connect(lambda cmd, ok, res, w=window: self._done(w, cmd, ok, res))

    def phase(self, target: int, done: Callable[[], None]) -> None:
        self.seen, self.target, self.presses = 0, target, []
        self.done, self.active = done, True

    def finish(self) -> None:
        if self.active:
            self.active = False
            self.done()

    def call(self, window: str) -> None:
        self.pending.add(window)
        self.presses.append((window, time.perf_counter()))
        actions = self.callers[window].feed_keys(self.press("KEY_KPENTER"))
        if actions != ["call_next"]:
            self.errors.append(f"window {window}: the keypad gave {actions}")
            self.finish()

    def tick(self) -> None:
        if len(self.presses) >= self.target or not self.ready:
            return
        self.call(self.ready.pop(0))

    def _applied(self, window: str, state: dict[str, Any]) -> None:
        current = state.get("current") or {}
        if window in self.pending and current.get("status") == "called":
            self.pending.discard(window)
            self.seen += 1
            self.starting.add(window)
            if self.held is not None:
                self.held.append(window)
            else:
                self.start(window)
        elif window in self.starting and current.get("status") == "serving":
            self.starting.discard(window)
            self.ready.append(window)
        if self.seen >= self.target and not self.pending:
            self.finish()

    def start(self, window: str) -> None:
        """Serve the citizen, after the states already delivered (the clerk's press is
        another machine's work, not part of the next display's time)."""
        from hall.ui.qt import QTimer

        QTimer.singleShot(0, lambda: self.callers[window].feed_keys(self.press("KEY_KP1")))

    def _done(self, window: str, cmd: str, ok: bool, result: Any) -> None:
        if not ok:
            self.errors.append(f"window {window} {cmd}: {result}")
            self.finish()


def _shares(windows: int, processes: int) -> list[list[str]]:
    """The windows ``1..windows`` dealt round ``processes``: the k-th has ``k + 1``,
    ``k + 1 + processes``, ... (so the hall's windows in turn are in turn processes)."""
    return [
        [str(w) for w in range(1, windows + 1) if (w - 1) % processes == k]
        for k in range(processes)
    ]


def _split(total: int, parts: int) -> list[int]:
    """``total`` calls dealt among ``parts`` processes, the first ones one more."""
    return [total // parts + (1 if k < total % parts else 0) for k in range(parts)]


def _tick_at(start: float, rate: float, k: int, processes: int, n: int) -> float:
    """When process ``k`` of ``processes`` ticks the ``n``-th time (``n`` from 0): each
    ticks at ``rate / processes``, process ``k`` ``k / rate`` after the first, so together
    they tick at ``rate`` evenly (not five at once)."""
    return start + (k + n * processes) / rate


def _merged(replies: list[dict[str, Any]]) -> list[tuple[str, float]]:
    """The presses (window, keypress time) of every caller process, in time order."""
    return sorted(((w, t) for r in replies for w, t in r["presses"]), key=lambda p: p[1])


def _press_spread_ms(replies: list[dict[str, Any]]) -> float:
    """The burst: how long after the first process's first keypress the last process's
    first keypress came (the shared start's precision)."""
    firsts = [min(t for _w, t in r["presses"]) for r in replies if r["presses"]]
    return round((max(firsts) - min(firsts)) * 1000, 2) if firsts else 0.0


def _caller_process(k: int, replies: Any, *rest: Any) -> None:
    """Some of the caller apps (:func:`_callers`); a failure is told to the main process."""
    try:
        _callers(k, replies, *rest)
    except BaseException as e:
        replies.put({"kind": "failed", "k": k, "error": f"{type(e).__name__}: {e}"})
        raise


def _callers(
    k: int,
    replies: Any,
    host: str,
    port: int,
    windows: list[str],
    rate: float,
    commands: Any,
    go: Any,
    stop: Any,
    trace_file: str,
) -> None:
    """Some of the caller apps, each with its own link, and the driver of their windows;
    the main process says what to do (``commands``) and hears back (``replies``)."""
    import queue
    import threading

    from counter.caller import CallerWindow
    from drivers.keys.simulator import press_events
    from hall.core.latency import tune_for_latency
    from hall.ui.qt import QApplication, QObject, Qt, QTimer, Signal, Slot
    from hall.ui.qtlink import QtLink

    _quiet_logs()
    app = QApplication.instance() or QApplication([f"hall-bench-callers-{k}"])
    trace = _Trace()
    hall = hall_config()["hall"]["id"]
    links: list[MqttLink] = []
    qtlinks: list[Any] = []
    callers: dict[str, Any] = {}
    for w in windows:
        lk = MqttLink(host=host, port=port, hall_id=hall, device_id=f"caller-{w}", role="caller")
        _trace_link(lk, trace, sent="caller_out")
        links.append(lk.start())
        qtlinks.append(QtLink(lk))
        callers[w] = CallerWindow(qtlinks[-1], w)
    driver = _Driver(callers, press_events)
    ticker = QTimer()
    ticker.setTimerType(Qt.TimerType.PreciseTimer)
    ticker.setSingleShot(True)
    guard = QTimer()
    guard.setSingleShot(True)
    guard.timeout.connect(driver.finish)  # out of time: the reply says how many were shown
    ticks = {"start": 0.0, "n": 0}

    def reply(kind: str, **more: Any) -> None:
        replies.put({"kind": kind, "k": k, **more})

    def tick() -> None:
        driver.tick()
        ticks["n"] += 1
        if driver.active and len(driver.presses) < driver.target:
            due = _tick_at(ticks["start"], rate, k, CALLER_PROCESSES, ticks["n"])
            ticker.start(max(0, round((due - time.perf_counter()) * 1000)))

    ticker.timeout.connect(tick)

    def phase_done(kind: str) -> None:
        ticker.stop()
        guard.stop()
        reply(
            kind,
            presses=list(driver.presses),
            seen=driver.seen,
            target=driver.target,
            errors=list(driver.errors),
            end=time.perf_counter(),
        )

    def settle(deadline: float) -> None:
        if len(driver.ready) == len(windows) or time.monotonic() > deadline:
            reply("settle", ready=len(driver.ready))
        else:
            QTimer.singleShot(5, lambda: settle(deadline))

    def wait_ready(deadline: float) -> None:
        if all(c.state is not None for c in callers.values()):
            tune_for_latency()  # as counter.app does for every window-side app
            reply("ready")
        elif time.monotonic() > deadline:
            reply("failed", error=f"callers {windows} got no window state within 30 s")
        else:
            QTimer.singleShot(20, lambda: wait_ready(deadline))

    def run(command: tuple[Any, ...]) -> None:
        """A command of the main process, on the GUI thread."""
        kind = command[0]
        if kind == "phase":  # (phase, target, start): calls at the rate until target
            _kind, target, start = command
            driver.phase(target, lambda: phase_done("phase"))
            ticks["start"], ticks["n"] = start, 0
            guard.start(int(target * CALLER_PROCESSES * 1000 / rate) + 30000)
            first = _tick_at(start, rate, k, CALLER_PROCESSES, 0)
            ticker.start(max(0, round((first - time.perf_counter()) * 1000)))
        elif kind == "settle":
            settle(time.monotonic() + 30)
        elif kind == "arm":  # the burst: every ready window presses at the go
            driver.held = []
            driver.phase(len(driver.ready), lambda: phase_done("burst"))
            reply("armed")
            # The burst's shared start: the GUI thread itself waits on the Event (a
            # semaphore: no CPU, no polling; its windows are settled, it has nothing else
            # to do) and presses as it wakes.  One wake-up per process: through a thread
            # posting to the GUI thread, each process woke twice and on two busy cores
            # the second often waited several ms.  The five processes' first presses come
            # within about a millisecond of each other when cores are free
            # (``burst50_press_spread_ms``); the steady calls have nothing polling.
            while not go.wait(0.5):
                if stop.is_set():
                    return
            guard.start(30000)
            for window in list(driver.ready):
                driver.ready.remove(window)
                driver.call(window)
            if driver.target == 0:  # no window was ready: the reply says so
                driver.finish()
        elif kind == "release":  # the clerks start serving, the burst over everywhere
            held, driver.held = driver.held or [], None
            for window in held:
                driver.start(window)
            reply("released")
        elif kind == "stop":
            app.quit()

    class Inbox(QObject):
        """The main process's commands handed from the reader thread to the GUI thread."""

        command = Signal(object)

        @Slot(object)
        def deliver(self, command: Any) -> None:
            run(command)

    inbox = Inbox()
    inbox.command.connect(inbox.deliver)  # queued: emitted on the reader thread

    def read() -> None:
        """The main process's commands, waited for off the GUI thread (which stays in its
        event loop) and posted to it; the stop, within half a second."""
        while not stop.is_set():
            try:
                command = commands.get(timeout=0.5)
            except queue.Empty:
                continue
            inbox.command.emit(command)
        inbox.command.emit(("stop",))

    reader = threading.Thread(target=read, name="bench-commands", daemon=True)
    reader.start()
    wait_ready(time.monotonic() + 30)
    app.exec()
    ticker.stop()
    guard.stop()
    for c in callers.values():
        c.shutdown()
    for q in qtlinks:
        q.close()
    for lk in reversed(links):
        lk.stop()
    Path(trace_file).write_text(json.dumps(trace.events))


def _shown_spans(
    events: list[tuple[str, str, float]], presses: list[tuple[str, float]]
) -> list[tuple[str, float, float]]:
    """(window, pressed, shown) of each press whose call a display showed: per window, the
    presses in order each take the first ``shown`` stamp after it not taken before."""
    shown: dict[str, list[float]] = {}
    for kind, window, t in events:
        if kind == "shown":
            shown.setdefault(window, []).append(t)
    for times in shown.values():
        times.sort()
    taken: dict[str, float] = {}
    spans = []
    for window, pressed in sorted(presses, key=lambda p: p[1]):
        times = shown.get(window, [])
        i = bisect.bisect_left(times, max(pressed, taken.get(window, -1.0)))
        if i < len(times) and times[i] == taken.get(window):
            i += 1
        if i < len(times):
            taken[window] = times[i]
            spans.append((window, pressed, times[i]))
    return spans


def _options(args: argparse.Namespace) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="hall bench call")
    p.add_argument(
        "--rate", type=float, default=RATE_PER_S, help="steady calls per second over the hall"
    )
    return p.parse_args(list(getattr(args, "options", None) or []))


def run(args: argparse.Namespace) -> dict[str, Any]:
    args.rate = _options(args).rate
    with tempfile.TemporaryDirectory(prefix="hall-bench-call-") as tmp:
        return _run(args, Path(tmp))


def _run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from sync.broker import Mosquitto

    quick = bool(getattr(args, "quick", False))
    calls = 200 if quick else 1000
    rate = float(getattr(args, "rate", 0) or RATE_PER_S)
    _quiet_logs()
    broker = Mosquitto(workdir=work / "broker", persistence=False).start()
    ctx = mp.get_context("spawn")  # fresh children: Qt lives in them, not in this process
    ready, stop = ctx.Event(), ctx.Event()
    shown = ctx.Value("i", 0)
    engine_file = work / "engine-trace.json"
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
            str(engine_file),
        ),
    )
    displays = [
        (
            ctx.Process(
                target=_display_process,
                name=f"hall-bench-displays-{k}",
                args=(
                    broker.host,
                    broker.port,
                    share,
                    shown_ready,
                    stop,
                    shown,
                    str(work / f"display-trace-{k}.json"),
                ),
            ),
            shown_ready,
        )
        for k, share in enumerate(_shares(WINDOWS, DISPLAY_PROCESSES))
        for shown_ready in [ctx.Event()]
    ]
    callers = _CallerProcesses(ctx, broker.host, broker.port, rate, stop, work)
    children = [engine, *(child for child, _ready in displays), *callers.procs]
    try:
        engine.start()
        if not ready.wait(120):
            raise RuntimeError("the bench engine did not start within 120 s")
        for child, _ready in displays:  # the states are retained: the displays show them
            child.start()
        for child in callers.procs:
            child.start()
        if not all(shown_ready.wait(120) for _child, shown_ready in displays):
            raise RuntimeError("the bench displays did not start within 120 s")
        callers.collect("ready", 120)
        sides = {
            "engine": [engine.pid or 0],
            "callers": callers.pids(),
            "displays": [child.pid or 0 for child, _ready in displays],
            "broker": [broker.proc.pid if broker.proc else 0],
        }
        line = _measure(broker, calls, rate, callers, shown, sides)
        commit = floors.sqlite_commits(work, 100 if quick else 300)
        rtt = line.pop("_rtt")
        line.update(floors.summary("floor_rtt", rtt))
        line.update(commit)
    finally:
        stop.set()
        for child in children:
            if child.pid is None:
                continue
            child.join(15)
            if child.is_alive():
                child.kill()
                child.join()
        broker.close()
    engine_events = json.loads(engine_file.read_text()) if engine_file.exists() else []
    display_events = [
        e for f in sorted(work.glob("display-trace-*.json")) for e in json.loads(f.read_text())
    ]
    caller_events = [
        e for f in sorted(work.glob("caller-trace-*.json")) for e in json.loads(f.read_text())
    ]
    events = [tuple(e) for e in engine_events + display_events + caller_events]
    steady = _shown_spans(events, line.pop("_presses"))
    burst_spans = _shown_spans(events, line.pop("_burst_presses"))
    if len(steady) < calls or len(burst_spans) < WINDOWS:
        raise RuntimeError(
            f"the displays showed {len(steady)} of {calls} calls and "
            f"{len(burst_spans)} of the burst's {WINDOWS}"
        )
    latencies = [(shown_at - pressed) * 1000 for _w, pressed, shown_at in steady]
    burst = [(shown_at - pressed) * 1000 for _w, pressed, shown_at in burst_spans]
    line.update(
        {
            "p50_ms": round(statistics.median(latencies), 2),
            "p99_ms": round(percentile(latencies, 99), 2),
            "max_ms": round(max(latencies), 2),
            "burst50_p50_ms": round(statistics.median(burst), 2),
            "burst50_max_ms": round(max(burst), 2),
            "tcp_nodelay": True,
        }
    )
    line["p50_ratio"] = floors.ratio(line["p50_ms"], line["floor_rtt_p50_ms"])
    line["p99_ratio"] = floors.ratio(line["p99_ms"], line["floor_rtt_p99_ms"])
    line.update(_breakdown(events, steady))
    line.update(_breakdown(events, burst_spans, "burst50_"))
    line.update(_beyond(events, steady))
    line.update(_beyond(events, burst_spans, "burst50_"))
    burst_at = line.pop("_burst")
    for kind, key in (
        ("batches", "batches"),
        ("commits", "commits"),
        ("engine_out", "state_publishes"),
    ):
        line[f"burst50_{key}"] = sum(
            1 for k, _w, t in engine_events if k == kind and burst_at[0] <= t <= burst_at[1]
        )
    arrived = [
        t for k, _w, t in engine_events if k == "engine_in" and burst_at[0] <= t <= burst_at[1]
    ]
    if arrived:  # how long the fifty presses took to reach the engine
        line["burst50_arrival_ms"] = round((max(arrived) - burst_at[0]) * 1000, 1)
    return line


HOPS = (
    ("press", "caller_out"),
    ("broker_in", "engine_in"),
    ("engine_queue", "batch"),
    ("run", "applied"),
    ("commit", "commit"),
    ("publish", "engine_out"),
    ("send", "wire"),
    ("broker_out", "display_in"),
    ("parse", "display_parsed"),
    ("gui", "gui"),
)


def _breakdown(
    events: list[tuple[str, str, float]], spans: list[tuple[str, float, float]], prefix: str = ""
) -> dict[str, float]:
    """``hop_NAME_p50_ms`` over the calls whose every hop was stamped in order (with a
    ``prefix``, the burst's: ``hop_NAME_at_ms``, when the last call's hop ended)."""
    stamps: dict[tuple[str, str], list[float]] = {}
    for kind, window, t in events:
        stamps.setdefault((kind, window), []).append(t)
    for times in stamps.values():
        times.sort()
    hops: dict[str, list[float]] = {name: [] for name, _k in HOPS}
    hops["apply"] = []
    ends: dict[str, list[float]] = {name: [] for name in hops}  # ms after the first press
    first = min((p for _w, p, _s in spans), default=0.0)
    for window, pressed, shown in spans:
        at, row = pressed, {}
        for name, kind in HOPS:
            times = stamps.get((kind, window), [])
            i = bisect.bisect_left(times, at)
            if i == len(times) or times[i] > shown:
                break
            row[name], at = (times[i] - at) * 1000, times[i]
        else:
            row["apply"] = (shown - at) * 1000
            at = pressed
            for name, ms in row.items():
                hops[name].append(ms)
                at += ms / 1000
                ends[name].append((at - first) * 1000)
    out: dict[str, float] = {f"{prefix}traced_calls": len(hops["apply"])}
    if prefix:
        for name, values in ends.items():
            if values:
                out[f"{prefix}hop_{name}_at_ms"] = round(max(values), 1)
        return out
    for name, values in hops.items():
        if values:
            out[f"hop_{name}_p50_ms"] = round(statistics.median(values), 3)
    return out


def _beyond(
    events: list[tuple[str, str, float]], spans: list[tuple[str, float, float]], prefix: str = ""
) -> dict[str, float]:
    """What the citizen sees and hears: from the keypress to the end of the display's first
    paint after the state was applied (``pixels``) and to the announcement's first sample
    handed to the sound device (``voice``), each before that window's next press.  Steady:
    ``pixels_p50_ms`` / ``_p99_ms``, ``voice_...``, ``hop_paint_p50_ms`` (applied to
    painted); with a ``prefix`` (the burst): ``..._max_ms``, the last one after the first
    press."""
    stamps: dict[tuple[str, str], list[float]] = {}
    for kind, window, t in events:
        if kind in ("painted", "voice"):
            stamps.setdefault((kind, window), []).append(t)
    for times in stamps.values():
        times.sort()
    presses: dict[str, list[float]] = {}
    for window, pressed, _shown in spans:
        presses.setdefault(window, []).append(pressed)
    for times in presses.values():
        times.sort()
    first = min((p for _w, p, _s in spans), default=0.0)
    found: dict[str, list[float]] = {"pixels": [], "voice": [], "paint": []}
    for window, pressed, shown in spans:
        later = presses[window]
        i = bisect.bisect_right(later, pressed)
        until = later[i] if i < len(later) else float("inf")
        for name, kind, since in (("pixels", "painted", shown), ("voice", "voice", pressed)):
            times = stamps.get((kind, window), [])
            j = bisect.bisect_left(times, since)
            if j < len(times) and times[j] < until:
                found[name].append((times[j] - (first if prefix else pressed)) * 1000)
                if name == "pixels":
                    found["paint"].append((times[j] - shown) * 1000)
    out: dict[str, float] = {}
    for name in ("pixels", "voice"):
        values = found[name]
        out[f"{prefix}{name}_calls"] = len(values)
        if not values:
            continue
        if prefix:
            out[f"{prefix}{name}_max_ms"] = round(max(values), 1)
        else:
            out[f"{name}_p50_ms"] = round(statistics.median(values), 2)
            out[f"{name}_p99_ms"] = round(percentile(values, 99), 2)
    if found["paint"] and not prefix:
        out["hop_paint_p50_ms"] = round(statistics.median(found["paint"]), 3)
    return out


class _CallerProcesses:
    """The caller processes, as the main process sees them: a command queue each, one
    queue of replies, the burst's shared start (``go``)."""

    def __init__(self, ctx: Any, host: str, port: int, rate: float, stop: Any, work: Path):
        self.shares = _shares(WINDOWS, CALLER_PROCESSES)
        self.go = ctx.Event()
        self.replies = ctx.Queue()
        self.commands = [ctx.Queue() for _share in self.shares]
        self.procs = [
            ctx.Process(
                target=_caller_process,
                name=f"hall-bench-callers-{k}",
                args=(
                    k,
                    self.replies,
                    host,
                    port,
                    share,
                    rate,
                    self.commands[k],
                    self.go,
                    stop,
                    str(work / f"caller-trace-{k}.json"),
                ),
            )
            for k, share in enumerate(self.shares)
        ]

    def pids(self) -> list[int]:
        return [proc.pid or 0 for proc in self.procs]

    def send(self, commands: list[tuple[Any, ...]]) -> None:
        for queue, command in zip(self.commands, commands, strict=True):
            queue.put(command)

    def ask(self, command: tuple[Any, ...], kind: str, timeout: float) -> list[dict[str, Any]]:
        self.send([command] * len(self.procs))
        return self.collect(kind, timeout)

    def collect(self, kind: str, timeout: float) -> list[dict[str, Any]]:
        """One ``kind`` reply from every caller process, in process order; a failure, a
        failed command, a process gone or silent past ``timeout`` raise."""
        import queue

        got: dict[int, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        while len(got) < len(self.procs):
            try:
                reply = self.replies.get(timeout=0.2)
            except queue.Empty:
                for proc in self.procs:
                    if proc.exitcode is not None:
                        raise RuntimeError(
                            f"the bench caller process {proc.name} exited "
                            f"(code {proc.exitcode}) while the bench waited for {kind!r}"
                        ) from None
                if time.monotonic() > deadline:
                    silent = [self.procs[k].name for k in range(len(self.procs)) if k not in got]
                    raise RuntimeError(
                        f"the bench caller processes {silent} did not answer {kind!r} "
                        f"within {timeout:.0f} s"
                    ) from None
                continue
            name = self.procs[reply["k"]].name
            if reply["kind"] == "failed":
                raise RuntimeError(f"the bench caller process {name} failed: {reply['error']}")
            if reply["kind"] != kind:
                raise RuntimeError(f"{name} answered {reply['kind']!r}, expected {kind!r}")
            if reply.get("errors"):
                raise RuntimeError(f"bench commands failed: {reply['errors'][:3]}")
            got[reply["k"]] = reply
        return [got[k] for k in sorted(got)]


def _measure(
    broker: Any,
    calls: int,
    rate: float,
    callers: _CallerProcesses,
    shown: Any,
    sides: dict[str, list[int]],
) -> dict[str, Any]:
    """The calls: the caller processes press, this process says when and collects."""

    def wait(until: Callable[[], bool], seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not until():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    rtt = floors.mqtt_round_trip(broker.host, broker.port, 200)  # before any call

    def measure(targets: list[int]) -> list[tuple[str, float]]:
        start = time.perf_counter() + 0.05  # every process has its command by then
        callers.send([("phase", target, start) for target in targets])
        total = sum(targets)
        replies = callers.collect("phase", total / rate + 60)  # past the guard
        seen = sum(r["seen"] for r in replies)
        if seen < total:
            raise RuntimeError(f"only {seen} of {total} calls were shown on their callers")
        return _merged(replies)

    def settle(expected: int) -> None:
        """The displays have shown every call pressed so far (their last paints and
        announcements a moment later), and every window may call again."""
        wait(lambda: shown.value >= expected, 30)
        callers.ask(("settle",), "settle", 60)
        time.sleep(0.5)  # past the keypad's debounce, the last paints

    measure([len(share) for share in callers.shares])  # warm up: each window calls once
    settle(WINDOWS)
    cpu = {side: _cpu_ms(pids) for side, pids in sides.items()}
    steady = measure(_split(calls, CALLER_PROCESSES))
    settle(WINDOWS + calls)
    cpu_steady = _cpu_split(sides, cpu, len(steady), "cpu_ms_per_call")
    cpu = {side: _cpu_ms(pids) for side, pids in sides.items()}
    # the burst: every window presses at once; the clerks start serving afterwards (a
    # clerk greets the citizen first: seconds, not the milliseconds of the burst)
    callers.ask(("arm",), "armed", 30)
    callers.go.set()
    replies = callers.collect("burst", 90)
    burst = _merged(replies)
    seen = sum(r["seen"] for r in replies)
    if seen < WINDOWS or len(burst) < WINDOWS:
        raise RuntimeError(f"the burst pressed {len(burst)} and its callers showed {seen}")
    burst_start = burst[0][1]  # the first keypress
    burst_end = max(r["end"] for r in replies)  # the last caller showed its call
    callers.ask(("release",), "released", 30)
    settle(2 * WINDOWS + calls)
    return {
        **cpu_steady,
        # the burst's CPU, its settling included (the displays' last paints)
        **_cpu_split(sides, cpu, 1, "burst50_cpu_ms"),
        "bench": "call",
        "windows": WINDOWS,
        "calls": len(steady),
        "rate_per_s": rate,
        "burst50_press_spread_ms": _press_spread_ms(replies),
        "_rtt": rtt,
        "_presses": steady,
        "_burst_presses": burst,
        "_burst": (burst_start, burst_end),
    }
