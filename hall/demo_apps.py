"""The role apps of ``hall demo`` in one Qt process, on simulated devices.

Each app talks to the hall broker through its own device link, exactly as it
would on its own device.  The kiosk's ticket printer and ID card reader are
simulators on ptys (``drivers.printer.sim``, ``drivers.idcard.sim``) opened
through the real drivers, so a ticket taken in the demo goes through the real
ESC/POS path and can be looked at as a PNG.
"""

from __future__ import annotations

import importlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEMO_PIN = "2580"  # the demo kiosk's staff PIN and every demo clerk's (assets/halls/demo.yaml)
DEMO_MANAGER_PASSWORD = "hall-demo-2580"  # the demo manager's console password (demo.yaml)
DEMO_SALT = b"hall-edge-demo-salt"  # the demo kiosk's person-key secret

log = logging.getLogger(__name__)


@dataclass
class AppSpec:
    name: str  # screenshot file name
    device_id: str
    role: str
    build: Callable[[Any], Any]  # (qtlink) -> QWidget
    size: tuple[int, int]  # the screen it is made for


def _cls(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name)


class DemoApps:
    def __init__(
        self, broker: Any, config: Any, workdir: Path, clock: Callable[[], Any] | None = None
    ) -> None:
        self.broker = broker
        self.clock = clock  # the hall's (demo) wall clock, for what screens show
        self.config = config
        self.workdir = workdir
        self.app: Any = None
        self.windows: dict[str, Any] = {}
        self.links: list[Any] = []
        self.qtlinks: list[Any] = []
        self.printer_sim: Any = None
        self.idcard_sim: Any = None
        self.kiosk_devices: Any = None
        self.announcer: Any = None
        self.calls_shown = 0  # calls the board showed (and its announcer was asked to say)
        self.kiosk_stats = {"visits": 0, "issued": 0, "printed": 0, "print_problems": 0}
        self._kiosk_free = threading.Event()
        self._posted: queue.Queue[Callable[[], None]] = queue.Queue()

    # ------------------------------------------------------------------ building

    def _specs(self) -> list[AppSpec]:
        wd = self.workdir

        def app(module: str, name: str, *args: Any) -> Callable[[Any], Any]:
            return lambda link: _cls(module, name)(link, *args)

        return [
            AppSpec("kiosk", "kiosk-1", "kiosk", self._build_kiosk, (1080, 1920)),
            AppSpec(
                "caller-1",
                "caller-1",
                "caller",
                app("counter.caller", "CallerWindow", "1"),
                (1024, 768),
            ),
            AppSpec(
                "display-1",
                "display-1",
                "display",
                app("counter.display", "WindowDisplay", "1"),
                (1280, 720),
            ),
            AppSpec("board", "board-1", "board", self._build_board, (1920, 1080)),
            AppSpec(
                "evaluator-1",
                "evaluator-1",
                "evaluator",
                app("counter.evaluator", "EvaluatorWindow", "1", wd / "evaluator-1.db"),
                (1280, 800),
            ),
        ]

    def _build_board(self, link: Any) -> Any:
        from counter.app import announcer_for
        from counter.board import HallBoard
        from counter.settings import load_settings

        # The board is the hall's speaker (the default voice.speaker): calls are said.
        self.announcer = announcer_for(load_settings(None), "board")
        board = HallBoard(link, announcer=self.announcer, now=self.clock)
        board.call_shown.connect(lambda *_: self._count_call())
        return board

    def _count_call(self) -> None:
        self.calls_shown += 1

    def _build_kiosk(self, link: Any) -> Any:
        from drivers.idcard.sim import SamSimulator
        from drivers.printer import open_printer
        from drivers.printer.sim import PrinterSimulator
        from hall.core.pins import hash_pin
        from kiosk.app import KioskWindow
        from kiosk.devices import DeviceSpecs, KioskDevices
        from kiosk.settings import KioskSettings

        self.printer_sim = PrinterSimulator(link=self.workdir / "hall-printer")
        self.idcard_sim = SamSimulator(link_path=self.workdir / "hall-idcard").start()
        printer = open_printer(f"serial:{self.workdir / 'hall-printer'}?profile=80mm")
        settings = KioskSettings(
            device_id="kiosk-1",
            idle_timeout_s=20,
            ticket_timeout_s=3,
            staff_pin_hash=hash_pin(DEMO_PIN),  # the demo's own, hashed like a real kiosk's
            salt=DEMO_SALT,
        )
        window = KioskWindow(link, settings, printer=printer, clock=self.clock)
        window.ticket_issued.connect(lambda _t: self._count("issued"))
        window.ticket_finished.connect(self._kiosk_finished)
        self.kiosk_devices = KioskDevices(
            window.bridge, window.health, DeviceSpecs(idcard_port=str(self.workdir / "hall-idcard"))
        )
        self.kiosk_devices.start()
        self._kiosk_free.set()
        return window

    def _count(self, key: str) -> None:
        self.kiosk_stats[key] += 1

    def _kiosk_finished(self, _ticket: Any, outcome: Any) -> None:
        self._count("printed" if outcome.ok else "print_problems")

    def start(self) -> None:
        from hall.ui.qt import QApplication
        from hall.ui.qtlink import QtLink
        from sync.mqtt import MqttLink

        self.app = QApplication.instance() or QApplication([])
        for spec in self._specs():
            try:
                link = MqttLink(
                    host=self.broker.host,
                    port=self.broker.port,
                    hall_id=self.config.hall_id,
                    device_id=spec.device_id,
                    role=spec.role,
                ).start()
            except Exception as exc:  # a broken app must not stop the demo
                log.error("demo: %s cannot connect: %s", spec.name, exc)
                continue
            self.links.append(link)
            qtlink = QtLink(link)
            self.qtlinks.append(qtlink)
            try:
                widget = spec.build(qtlink)
            except Exception as exc:
                log.warning("demo: %s not shown (%s: %s)", spec.name, type(exc).__name__, exc)
                continue
            widget.setWindowTitle(f"hall-edge demo: {spec.name}")
            widget.show()
            # After show() (which clamps to the screen), and twice: a layout that
            # changes with the width (the caller's columns) settles on the second.
            for _ in range(2):
                widget.resize(*spec.size)
                self.app.processEvents()
            self.windows[spec.name] = widget

    # ------------------------------------------------------------------ scripted citizens

    def kiosk_available(self) -> bool:
        """True when the kiosk is free for the next scripted citizen (any thread)."""
        return self._kiosk_free.is_set()

    def kiosk_visit(self, item_id: str, card: Any | None = None) -> None:
        """A citizen at the kiosk: taps the item, swipes the ID card if asked (any thread)."""
        self._kiosk_free.clear()
        self._posted.put(lambda: self._visit(item_id, card))

    def _visit(self, item_id: str, card: Any | None) -> None:
        from hall.ui.qt import QTimer

        kiosk = self.windows["kiosk"]
        self.kiosk_stats["visits"] += 1
        kiosk.go_home()
        kiosk.take_ticket(item_id)
        if card is not None and kiosk.screen_name == "identify":
            self.idcard_sim.insert(card)
            QTimer.singleShot(1500, self.idcard_sim.remove)
        QTimer.singleShot(2500, self._kiosk_free.set)

    def exec(self) -> int:
        from hall.ui.qt import QTimer

        timer = QTimer()
        timer.timeout.connect(self._run_posted)
        timer.start(50)
        return int(self.app.exec())

    def _run_posted(self) -> None:
        while True:
            try:
                action = self._posted.get_nowait()
            except queue.Empty:
                return
            try:
                action()
            except Exception:
                log.exception("demo: scripted action failed")

    def run_until(self, deadline: float) -> None:
        """Keep the apps alive (events, timers, repaints) until ``deadline`` (monotonic)."""
        while time.monotonic() < deadline:
            self._run_posted()
            self.app.processEvents()
            time.sleep(0.01)

    def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Keep the apps running until ``condition()`` holds or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() >= deadline:
                return False
            self.run_until(time.monotonic() + 0.05)
        return True

    def settle(self, timeout: float = 10.0) -> None:
        """Let a citizen still at the kiosk finish (ticket issued and printed)."""
        if "kiosk" not in self.windows:
            return
        deadline = time.monotonic() + timeout
        stats = self.kiosk_stats
        while time.monotonic() < deadline and not (
            self._kiosk_free.is_set()
            and stats["printed"] + stats["print_problems"] >= stats["issued"]
        ):
            self.run_until(time.monotonic() + 0.05)

    # ------------------------------------------------------------------ results

    def screenshot(self, folder: Path) -> list[str]:
        folder.mkdir(parents=True, exist_ok=True)
        self.app.processEvents()
        saved = []
        for name, widget in self.windows.items():
            path = folder / f"{name}.png"
            if widget.grab().save(str(path)):
                saved.append(str(path))
        if self.printer_sim is not None:
            from drivers.printer.render import render_png

            for n, data in enumerate(self.printer_sim.tickets[-3:], start=1):
                saved.append(str(render_png(data, folder / f"printed-ticket-{n}.png")))
        return saved

    def close(self) -> None:
        if self.kiosk_devices is not None:
            self.kiosk_devices.stop()
        for widget in self.windows.values():
            if hasattr(widget, "close_down"):
                widget.close_down()
            widget.close()
        for qtlink in self.qtlinks:
            qtlink.close()
        for link in self.links:
            link.stop()
        for sim in (self.idcard_sim, self.printer_sim):
            if sim is not None:
                (getattr(sim, "stop", None) or sim.close)()
