"""A whole kiosk on simulated hardware: real Mosquitto + engine, the SAM reader and
the printer on ptys, a simulated scanner, and the real KioskWindow driven by clicks."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kiosk_checks import layout_problems

from drivers.idcard import SamSimulator
from drivers.keys.simulator import SimulatedKeyboard
from drivers.printer import open_printer
from drivers.printer.sim import PrinterSimulator
from hall.core.clock import FakeClock
from hall.core.pins import hash_pin
from hall.ui.qt import QPushButton, Qt, QWidget
from hall.ui.qtlink import QtLink
from kiosk.app import KioskWindow
from kiosk.devices import DeviceSpecs, KioskDevices
from kiosk.engine.engine import QueueEngine
from kiosk.engine.service import EngineService
from kiosk.settings import KioskSettings
from kiosk.voice import VoicePrompts
from sync.broker import Mosquitto
from sync.mqtt import MqttLink

SALT = b"test-hall-salt-0123456789"
STAFF_PIN = "7461"  # these tests' own kiosk PIN (a provisioned kiosk gets its own)
STAFF_PIN_HASH = hash_pin(STAFF_PIN)
PORTRAIT = (1080, 1920)
LANDSCAPE = (1920, 1080)
WAIT_MS = 8000


@pytest.fixture
def kiosk_settings(tmp_path: Path) -> KioskSettings:
    return KioskSettings(
        salt=SALT,
        staff_pin_hash=STAFF_PIN_HASH,
        idle_timeout_s=120,
        ticket_timeout_s=120,
        problem_timeout_s=120,
        message_timeout_s=120,
        printer_poll_s=0,
        status_file=str(tmp_path / "kiosk-status.json"),
        common_items=("gjj-query", "rs-proof", "rs-card", "hj-proof"),
    )


@dataclass
class Kiosk:
    """The rig a test drives: the window and every simulator behind it."""

    window: KioskWindow
    qtbot: Any
    engine: QueueEngine
    printer: PrinterSimulator
    sam: SamSimulator
    scanner: SimulatedKeyboard
    voice: VoicePrompts
    clock: FakeClock
    status_file: Path
    taps: list[str] = field(default_factory=list)
    staff_pin: str = STAFF_PIN

    # -- looking ----------------------------------------------------------------
    def widget(self, name: str, cls: type[QWidget] = QWidget) -> Any:
        found = [w for w in self.window.findChildren(cls, name) if w.isVisible()]
        assert found, f"no visible {cls.__name__} named {name!r} on {self.window.screen_name}"
        return found[0]

    def has(self, name: str, cls: type[QWidget] = QWidget) -> bool:
        return any(w.isVisible() for w in self.window.findChildren(cls, name))

    def texts(self) -> str:
        """Every visible text on the screen, one string (what a person reads)."""
        from hall.ui.qt import QLabel

        parts = [w.text() for w in self.window.findChildren(QLabel) if w.isVisible()]
        parts += [w.text() for w in self.window.findChildren(QPushButton) if w.isVisible()]
        return "\n".join(parts)

    # -- doing ------------------------------------------------------------------
    def tap(self, name: str) -> None:
        button = self.widget(name, QPushButton)
        assert button.isEnabled(), f"{name} is disabled"
        self.taps.append(name)
        self.qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    def wait_screen(self, name: str, timeout: int = WAIT_MS) -> None:
        self.qtbot.waitUntil(lambda: self.window.screen_name == name, timeout=timeout)

    def swipe(self, card: Any) -> None:
        """Put an ID card on the SAM reader (it stays until ``lift``)."""
        self.sam.insert(card)

    def lift(self) -> None:
        """Take the card off and wait until the poller has seen it gone (3 more polls)."""
        seen = self.sam.count("find")
        self.sam.remove()
        assert self.sam.wait_for_commands("find", seen + 3, timeout=5)

    def scan(self, text: str) -> None:
        self.scanner.type_text(text)

    def wait_printed(self, count: int = 1, timeout: int = WAIT_MS) -> bytes:
        """The ``count``-th ticket the printer received (the Qt loop keeps running)."""
        self.qtbot.waitUntil(lambda: len(self.printer.tickets) >= count, timeout=timeout)
        return self.printer.tickets[count - 1]

    # -- the engine's truth -----------------------------------------------------
    def tickets(self) -> list[sqlite3.Row]:
        return self.engine.conn.execute("SELECT * FROM tickets ORDER BY rowid").fetchall()

    def status(self) -> dict[str, Any]:
        return json.loads(self.status_file.read_text(encoding="utf-8"))


@pytest.fixture
def make_kiosk(
    qtbot: Any,
    broker: Mosquitto,
    engine_service: EngineService,
    tmp_path: Path,
    hall_clock: FakeClock,
    kiosk_settings: KioskSettings,
) -> Iterator[Callable[..., Kiosk]]:
    cleanups: list[Callable[[], object]] = []

    def make(
        size: tuple[int, int] = PORTRAIT,
        settings: KioskSettings | None = None,
        citizencard: str | None = None,
    ) -> Kiosk:
        settings = settings or kiosk_settings
        printer_sim = PrinterSimulator(link=tmp_path / "hall-printer")
        cleanups.append(printer_sim.close)
        sam = SamSimulator(link_path=tmp_path / "hall-idcard").start()
        cleanups.append(sam.stop)
        keyboard = SimulatedKeyboard()
        mqtt = MqttLink(
            host=broker.host,
            port=broker.port,
            hall_id="demo-hall",
            device_id=settings.device_id,
            role="kiosk",
        ).start()
        cleanups.append(mqtt.stop)
        qtlink = QtLink(mqtt)
        cleanups.append(qtlink.close)
        voice = VoicePrompts()
        printer = open_printer(f"serial:{printer_sim.port}?profile=80mm")
        window = KioskWindow(qtlink, settings, printer=printer, voice=voice, clock=hall_clock.now)
        qtbot.addWidget(window)
        cleanups.append(window.close_down)
        devices = KioskDevices(
            window.bridge,
            window.health,
            DeviceSpecs(
                idcard_port=str(tmp_path / "hall-idcard"),
                idcard_interval=0.05,
                scanner=keyboard.path,
                scanner_opener=keyboard.open,
                citizencard_reader=citizencard,
            ),
        )
        devices.start()
        cleanups.append(devices.stop)
        window.resize(*size)
        window.show()
        qtbot.waitExposed(window)
        qtbot.waitUntil(lambda: window.catalog is not None and bool(window.loads), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: keyboard.grabbed, timeout=WAIT_MS)
        return Kiosk(
            window,
            qtbot,
            engine_service.engine,
            printer_sim,
            sam,
            keyboard,
            voice,
            hall_clock,
            Path(settings.status_file or ""),
        )

    yield make
    for cleanup in reversed(cleanups):
        cleanup()


@pytest.fixture
def kiosk(make_kiosk: Callable[..., Kiosk]) -> Kiosk:
    return make_kiosk()


@pytest.fixture
def snap(screenshots: Path) -> Callable[[Kiosk, str], Path]:
    """``snap(kiosk, name)`` saves what a person sees now as ``kiosk-<name>.png``, and
    checks that every text on it can be read whole (not cut, not hidden behind a scroll
    bar, not drawn over another: ``kiosk_checks.layout_problems``)."""

    def save(kiosk: Kiosk, name: str) -> Path:
        kiosk.qtbot.wait(1)  # let pending paints and deleteLater run (no sleep: one loop pass)
        path = screenshots / f"kiosk-{name}.png"
        assert kiosk.window.grab().save(str(path))
        problems = layout_problems(kiosk.window)
        assert not problems, f"{path.name}: " + "; ".join(problems)
        return path

    return save
