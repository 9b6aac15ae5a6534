"""``hall bench startup``: how fast the kiosk (and the other apps) show their first frame,
how much memory they take, and the kiosk's touch-to-ticket-bytes latency.

* Startup: each app starts in a fresh ``python -m hall.bench.startup --child APP`` process
  (Qt offscreen) against a running broker + engine.  ``first_frame_ms`` runs from
  just before the process is spawned to the end of the window's first paint;
  ``ready_ms`` until the first frame that shows the catalogue; ``rss_mb`` is the
  child's resident memory at that moment.  Targets: first frame <= 1500 ms,
  RSS <= 150 MB.
* Bytecode: every child (the apps' and the bare window's alike) runs with its
  modules' bytecode compiled, as the installed package has it, from a cache of this
  run (``PYTHONPYCACHEPREFIX``; a first, unmeasured start of each fills it), even
  where the shell says ``PYTHONDONTWRITEBYTECODE`` (a developer's setting: else each
  start would compile the app's hundred-odd modules, the bare window's none).
* Floors, in the same run: a bare Qt window's first frame in a fresh process
  (``floor_first_frame_ms``, ``first_frame_ratio``); for the touch, one request's
  round trip on the same broker plus one durable commit (``floor_p99_ms``,
  ``p99_ratio``).
* Touch to ticket: in this process, a real broker + engine + printer simulator on a
  pty and the real window; each sample is one click on 取号 (a mouse press and
  release on the button) until the printer simulator has received the whole ticket.
  The process is tuned as ``hall kiosk`` tunes itself after its first frame
  (:func:`hall.core.latency.tune_for_latency`).

The window-side apps of ``counter`` (caller, display, board, evaluator) are measured
the same way when that package is installed; their first frame is the empty window
(their live state arrives from the broker right after).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from hall.bench import floors
from hall.core.stats import percentile

OTHER_APPS = ("caller", "display", "board", "evaluator")
SIZES = {
    "kiosk": (1080, 1920),
    "caller": (760, 1180),
    "display": (1280, 720),
    "board": (1280, 720),
    "evaluator": (1280, 800),
}
FIRST_FRAME_TARGET_MS = 1500
RSS_TARGET_MB = 150


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


# --------------------------------------------------------------------------- the hall


class _Hall:
    """A broker and an engine (fake clock on a working morning) for the benches."""

    def __init__(self, workdir: Path) -> None:
        from hall.core.clock import FakeClock
        from kiosk.engine.config import load_hall_config
        from kiosk.engine.engine import QueueEngine
        from kiosk.engine.service import EngineService
        from sync.broker import Mosquitto
        from sync.mqtt import MqttLink

        demo = Path(__file__).resolve().parents[2] / "assets" / "halls" / "demo.yaml"
        self._stops: list[Any] = []
        try:
            self.broker = Mosquitto(workdir=workdir / "broker", persistence=False).start()
            self._stops.append(self.broker.close)
            config = load_hall_config(demo)
            self.clock = FakeClock(datetime(2026, 11, 23, 9, 30))
            self.engine = QueueEngine(config, workdir / "engine.db", clock=self.clock)
            self._stops.append(self.engine.close)
            self.link = MqttLink(
                host=self.broker.host,
                port=self.broker.port,
                hall_id=config.hall_id,
                device_id="engine",
                role="engine",
            ).start()
            self._stops.append(self.link.stop)
            self.service = EngineService(self.engine, self.link)
            self.service.start()
            self._stops.append(self.service.stop)
        except BaseException:
            self.close()  # a failed set-up leaves no broker behind
            raise

    def close(self) -> None:
        while self._stops:
            self._stops.pop()()


# --------------------------------------------------------------------------- startup


def _child(app_name: str, broker: str) -> int:
    """Runs in the fresh process: build the app, report its first painted frame."""
    from hall.ui.qt import QApplication, QtCore, QTimer

    qapp = QApplication.instance() or QApplication(["bench"])
    report: dict[str, Any] = {}
    stops: list[Any] = []

    if app_name == "kiosk":
        from kiosk.cli import build, register

        parser = argparse.ArgumentParser()
        register(parser.add_subparsers())
        args = parser.parse_args(
            ["kiosk", "--broker", broker, "--no-voice", "--printer", "file:/dev/null?status=no"]
        )
        window, _devices = build(args, stops)

        def ready() -> bool:
            return window.catalog is not None
    else:
        window = _counter_window(app_name, broker, stops)

        def ready() -> bool:
            return True

    class FrameWatch(QtCore.QObject):
        def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:
            if event.type() == QtCore.QEvent.Type.Paint and obj is window:
                QTimer.singleShot(0, frame_done)
            return False

    def frame_done() -> None:
        now = time.time()
        report.setdefault("first_frame_at", now)
        if "ready_at" not in report and ready():
            report["ready_at"] = now
            report["rss_mb"] = _rss_mb()
            qapp.quit()

    def catalog_arrived() -> None:
        if ready() and "ready_at" not in report:
            window.repaint()

    watch = FrameWatch()
    window.installEventFilter(watch)
    poll = QTimer()
    poll.timeout.connect(catalog_arrived)
    poll.start(5)
    QTimer.singleShot(15_000, qapp.quit)
    window.resize(*SIZES[app_name])
    window.show()
    qapp.exec()
    report.setdefault("rss_mb", _rss_mb())
    shutdown = getattr(window, "shutdown", None)
    if callable(shutdown):
        shutdown()
    for stop in reversed(stops):
        stop()
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()
    return 0


def _counter_window(app_name: str, broker: str, stops: list[Any]) -> Any:
    """One of the window-side apps, built as ``hall <app>`` builds it."""
    from counter.settings import load_settings
    from hall.core.net import parse_hostport
    from hall.ui.qtlink import QtLink
    from sync.mqtt import MqttLink

    host, port = parse_hostport(broker)
    device = {
        "caller": "caller-1",
        "display": "display-1",
        "board": "board-1",
        "evaluator": "evaluator-1",
    }[app_name]
    link = MqttLink(host=host, port=port, hall_id="demo-hall", device_id=device, role=app_name)
    link.start(wait=None)
    stops.append(link.stop)
    qtlink = QtLink(link)
    stops.append(qtlink.close)
    settings = load_settings(None)
    if app_name == "caller":
        from counter.caller import CallerWindow

        return CallerWindow(qtlink, "1", settings=settings)
    if app_name == "display":
        from counter.display import WindowDisplay

        return WindowDisplay(qtlink, "1", "auto", settings=settings)
    if app_name == "board":
        from counter.board import HallBoard

        return HallBoard(qtlink, settings=settings)
    from counter.evaluator import EvaluatorWindow

    db = Path(tempfile.mkdtemp(prefix="bench-evaluator-")) / "evaluator.db"
    return EvaluatorWindow(qtlink, "1", db, settings=settings)


def _startup_once(app_name: str, broker: str) -> dict[str, Any]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HALL_VALIDATE_CONTRACT="0")
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    started = time.time()
    proc = subprocess.run(
        [sys.executable, "-m", "hall.bench.startup", "--child", app_name, "--broker", broker],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=root,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"{app_name} startup child failed ({proc.returncode}): {proc.stderr.strip()[-400:]}"
        )
    child = json.loads(lines[-1])
    out = {"first_frame_ms": round((child["first_frame_at"] - started) * 1000)}
    if "ready_at" in child:
        out["ready_ms"] = round((child["ready_at"] - started) * 1000)
    out["rss_mb"] = child["rss_mb"]
    return out


def startup(app_name: str, broker: str, runs: int) -> dict[str, Any]:
    """The app's start, each run right after a bare Qt window's (its floor): a busy
    machine slows both alike, and the ratio compares them."""
    samples, bare = [], []
    floors.qt_first_frame(1)  # unmeasured: fills the bytecode cache (see the docstring)
    _startup_once(app_name, broker)
    for _ in range(runs):
        bare.append(floors.qt_first_frame(1))
        samples.append(_startup_once(app_name, broker))
    line: dict[str, Any] = {"bench": "startup", "app": app_name, "runs": runs}
    for key in ("first_frame_ms", "ready_ms", "rss_mb"):
        values = [s[key] for s in samples if key in s]
        if values:
            line[key] = statistics.median(values)
    line["ok"] = line["first_frame_ms"] <= FIRST_FRAME_TARGET_MS and line["rss_mb"] <= RSS_TARGET_MB
    line["floor_first_frame_ms"] = statistics.median(bare)
    line["first_frame_ratio"] = floors.ratio(line["first_frame_ms"], line["floor_first_frame_ms"])
    return line


def _other_apps() -> list[str]:
    import importlib.util

    return [name for name in OTHER_APPS if importlib.util.find_spec(f"counter.{name}")]


# --------------------------------------------------------------------------- touch to ticket


def _click(widget: Any) -> None:
    from hall.ui.qt import QApplication, QPoint, Qt, QtCore, QtGui

    local = QtCore.QPointF(widget.rect().center())
    scene = QtCore.QPointF(widget.mapToGlobal(QPoint(int(local.x()), int(local.y()))))
    for kind in (QtCore.QEvent.Type.MouseButtonPress, QtCore.QEvent.Type.MouseButtonRelease):
        event = QtGui.QMouseEvent(
            kind,
            local,
            scene,
            Qt.MouseButton.LeftButton,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(widget, event)


def _spin_until(done: Callable[[], bool], timeout: float) -> bool:
    from hall.ui.qt import QApplication, QtCore

    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        QApplication.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
    return True


def touch_to_ticket(hall: _Hall, samples: int, workdir: Path) -> dict[str, Any]:
    from drivers.printer import open_printer
    from drivers.printer.sim import PrinterSimulator
    from hall.core.latency import tune_for_latency
    from hall.ui.qt import QApplication, QPushButton
    from hall.ui.qtlink import QtLink
    from kiosk.app import KioskWindow
    from kiosk.settings import KioskSettings
    from sync.mqtt import MqttLink

    app = QApplication.instance() or QApplication(["bench"])
    arrived: list[float] = []
    lock = threading.Lock()

    def on_ticket(_data: bytes) -> None:
        with lock:
            arrived.append(time.perf_counter())

    sim = PrinterSimulator(link=workdir / "hall-printer", on_ticket=on_ticket)
    mqtt = MqttLink(
        host=hall.broker.host,
        port=hall.broker.port,
        hall_id="demo-hall",
        device_id="kiosk-1",
        role="kiosk",
    ).start()
    qtlink = QtLink(mqtt)
    window = KioskWindow(
        qtlink,
        KioskSettings(printer_poll_s=0, idle_timeout_s=600),
        printer=open_printer(f"serial:{sim.port}?profile=80mm"),
        clock=hall.clock.now,
    )
    latencies: list[float] = []
    try:
        window.resize(1080, 1920)
        window.show()
        if not _spin_until(lambda: window.catalog is not None, 10):
            raise RuntimeError("the kiosk got no catalogue from the engine")
        tune_for_latency()  # as `hall kiosk` does after its first frame (kiosk.cli.build_on)
        items = ("gjj-query", "rs-card", "rs-proof")
        for n in range(samples):
            window.open_item(items[n % len(items)])
            _spin_until(lambda: False, 0.01)  # let the guide paint, as a person would see it
            take = window.findChild(QPushButton, "take")
            before = len(arrived)
            touched = time.perf_counter()
            _click(take)
            if not _spin_until(lambda b=before: len(arrived) > b, 10):
                raise RuntimeError(f"ticket {n + 1} never reached the printer")
            latencies.append((arrived[before] - touched) * 1000)
            window.go_home()
    finally:
        window.close_down()
        window.deleteLater()
        qtlink.close()
        mqtt.stop()
        sim.close()
        app.processEvents()
    return {
        "bench": "touch_to_ticket",
        "app": "kiosk",
        "samples": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(max(latencies), 1),
    }


# --------------------------------------------------------------------------- entry points


@contextlib.contextmanager
def _compiled_children(cache: Path) -> Iterator[None]:
    """The children started meanwhile keep their bytecode in ``cache``."""
    saved = {k: os.environ.get(k) for k in ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE")}
    os.environ["PYTHONPYCACHEPREFIX"] = str(cache)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    quick = bool(getattr(args, "quick", False))
    with (
        tempfile.TemporaryDirectory(prefix="hall-bench-") as tmp,
        _compiled_children(Path(tmp) / "pycache"),
    ):
        hall = _Hall(Path(tmp))
        try:
            broker = f"{hall.broker.host}:{hall.broker.port}"
            runs = 1 if quick else 3
            lines = [startup("kiosk", broker, runs)]
            touch = touch_to_ticket(hall, 10 if quick else 100, Path(tmp))
            rtt = floors.mqtt_round_trip(hall.broker.host, hall.broker.port, 50 if quick else 200)
            touch.update(floors.summary("floor_rtt", rtt))
            touch.update(floors.sqlite_commits(Path(tmp), 100 if quick else 300))
            # the touch's floor: one request's round trip and one durable commit
            floor_p99 = touch["floor_rtt_p99_ms"] + touch["floor_commit_p99_ms"]
            touch["floor_p99_ms"] = round(floor_p99, 3)
            touch["p99_ratio"] = floors.ratio(touch["p99_ms"], floor_p99)
            lines.append(touch)
            for name in _other_apps():
                try:
                    lines.append(startup(name, broker, runs))
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    lines.append({"bench": "startup", "app": name, "error": str(exc)[:200]})
        finally:
            hall.close()
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hall.bench.startup")
    parser.add_argument("--child", required=True)
    parser.add_argument("--broker", required=True)
    ns = parser.parse_args(argv)
    return _child(ns.child, ns.broker)


if __name__ == "__main__":
    sys.exit(main())
