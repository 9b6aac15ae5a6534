"""The role apps of ``hall demo`` in one Qt process, on simulated devices.

Each app talks to the hall broker through its own device link, exactly as it
would on its own device; the simulators (ID card reader, ticket printer)
sit on ptys and are opened through the real drivers.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class AppSpec:
    name: str  # screenshot file name
    device_id: str
    role: str
    build: Callable[[Any, Path], Any]  # (qtlink, workdir) -> QWidget


def _cls(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name)


def _specs() -> list[AppSpec]:
    return [
        AppSpec("kiosk", "kiosk-1", "kiosk",
                lambda link, wd: _cls("kiosk.app", "KioskWindow")(link)),
        AppSpec("caller-1", "caller-1", "caller",
                lambda link, wd: _cls("counter.caller", "CallerWindow")(link, "1")),
        AppSpec("display-1", "display-1", "display",
                lambda link, wd: _cls("counter.display", "WindowDisplay")(link, "1")),
        AppSpec("board", "board-1", "board",
                lambda link, wd: _cls("counter.board", "HallBoard")(link)),
        AppSpec("evaluator-1", "evaluator-1", "evaluator",
                lambda link, wd: _cls("counter.evaluator", "EvaluatorWindow")(
                    link, "1", wd / "evaluator-1.db")),
    ]


class DemoApps:
    def __init__(self, broker: Any, config: Any, workdir: Path) -> None:
        self.broker = broker
        self.config = config
        self.workdir = workdir
        self.app: Any = None
        self.windows: dict[str, Any] = {}
        self.links: list[Any] = []
        self.qtlinks: list[Any] = []

    def start(self) -> None:
        from hall.qt import QApplication
        from hall.qtlink import QtLink
        from sync.mqtt import MqttLink

        self.app = QApplication.instance() or QApplication([])
        for spec in _specs():
            # The scripted day drives kiosk-1, caller-N and evaluator-N over MQTT;
            # the apps use a "-app" device id only where both run at once.
            try:
                link = MqttLink(host=self.broker.host, port=self.broker.port,
                                hall_id=self.config.hall_id, device_id=spec.device_id,
                                role=spec.role).start()
            except Exception as exc:  # a broken app must not stop the demo
                log.error("demo: %s cannot connect: %s", spec.name, exc)
                continue
            self.links.append(link)
            qtlink = QtLink(link)
            self.qtlinks.append(qtlink)
            try:
                widget = spec.build(qtlink, self.workdir)
            except Exception as exc:
                log.warning("demo: %s not shown (%s: %s)", spec.name, type(exc).__name__, exc)
                continue
            widget.setWindowTitle(f"hall-edge demo: {spec.name}")
            widget.show()
            self.windows[spec.name] = widget

    def exec(self) -> int:
        return int(self.app.exec())

    def run_until(self, deadline: float) -> None:
        """Keep the apps alive (events, timers, repaints) until ``deadline`` (monotonic)."""
        while time.monotonic() < deadline:
            self.app.processEvents()
            time.sleep(0.02)

    def screenshot(self, folder: Path) -> list[str]:
        folder.mkdir(parents=True, exist_ok=True)
        self.app.processEvents()
        saved = []
        for name, widget in self.windows.items():
            path = folder / f"{name}.png"
            if widget.grab().save(str(path)):
                saved.append(str(path))
        return saved

    def close(self) -> None:
        for widget in self.windows.values():
            widget.close()
        for qtlink in self.qtlinks:
            qtlink.close()
        for link in self.links:
            link.stop()
