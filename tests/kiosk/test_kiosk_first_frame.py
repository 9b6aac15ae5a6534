"""The kiosk's start as a person sees it: the first frame comes before the network stack,
the printer's codec and the settings' schema are even loaded, then the hall link
connects, the catalogue shows, and a ticket taken at once prints whole (the printer
opens and loads its codec right after the first frame).  The kiosk runs as ``hall
kiosk`` builds it (``kiosk.cli.build``), in a fresh process (offscreen) against a
real broker, engine and printer simulator on a pty."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kiosk_command import kiosk_args

from drivers.printer.sim import PrinterSimulator
from kiosk.engine.service import EngineService
from sync.broker import Mosquitto

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import argparse, json, sys, time
from hall.ui.qt import QApplication, QtCore, QTimer
from kiosk.cli import build, register

app = QApplication(["kiosk-start"])
parser = argparse.ArgumentParser()
register(parser.add_subparsers())
args = parser.parse_args(
    ["kiosk", "--broker", sys.argv[1], "--no-voice", "--printer", sys.argv[2]]
)
stops = []
window, _devices = build(args, stops)
report = {"frames": 0, "banner_before_link": False, "printed": None}
HEAVY = ("paho", "escpos", "qrcode", "PIL", "pydantic", "yaml")

class Frames(QtCore.QObject):
    def eventFilter(self, obj, event):
        if obj is window and event.type() == QtCore.QEvent.Type.Paint:
            if report["frames"] == 0:
                report["first_frame"] = {
                    "loaded": sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY)),
                    "link_started": window.link.attached,
                }
            report["frames"] += 1
            if not window.link.connected and window.link_label.isVisible():
                report["banner_before_link"] = True
        return False

def finished(ticket, outcome):
    report["printed"] = {"code": ticket.code, "ok": outcome.ok, "detail": outcome.detail}
    app.quit()

def poll():
    if window.catalog is not None and "took_at" not in report:
        report["took_at"] = time.monotonic()
        report["connected"] = window.link.connected
        window.take_ticket("gjj-query")  # the first touch, as soon as there is something

frames = Frames()
window.installEventFilter(frames)
window.ticket_finished.connect(finished)
timer = QTimer()
timer.timeout.connect(poll)
timer.start(5)
QTimer.singleShot(20_000, app.quit)
window.resize(1080, 1920)
window.show()
app.exec()
for stop in reversed(stops):
    stop()
print(json.dumps(report), flush=True)
"""


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` from the project's root, offscreen, its output kept."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_kiosk(broker: Mosquitto, printer: str) -> dict[str, object]:
    proc = _python("-c", CHILD, f"{broker.host}:{broker.port}", printer)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert proc.returncode == 0 and lines, proc.stderr[-2000:]
    report: dict[str, object] = json.loads(lines[-1])
    return report


@pytest.mark.broker
@pytest.mark.slow
def test_the_first_frame_comes_before_the_link_and_the_first_ticket_prints_whole(
    broker: Mosquitto, engine_service: EngineService, tmp_path: Path
) -> None:
    with PrinterSimulator(link=tmp_path / "hall-printer") as sim:
        report = run_kiosk(broker, f"serial:{sim.port}?profile=80mm")
        tickets = sim.wait_for_tickets(1, 5)
    # painted before paho, the printer's codec and their libraries were imported, nor
    # the schema checks' (no settings file: the defaults), and before the link started
    assert report["first_frame"] == {"loaded": [], "link_started": False}
    # then the link came up and the catalogue with it, and the first touch printed
    assert report["connected"] is True
    printed = report["printed"]
    assert isinstance(printed, dict) and printed["ok"], printed
    assert len(tickets) == 1
    code = str(printed["code"]).encode("ascii")
    assert code in tickets[0] and tickets[0].endswith(b"\x1dV\x00")  # the number, then cut
    # a start with the broker up never flashes 网络中断 while it connects
    assert report["banner_before_link"] is False


@pytest.mark.broker
def test_a_printer_spec_that_does_not_parse_still_ends_the_kiosk_with_code_3(
    broker: Mosquitto,
) -> None:
    proc = _python(*kiosk_args(broker, "--printer", "serial:/dev/hall-printer?baud=fast"))
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "printer spec 'serial:/dev/hall-printer?baud=fast': baud: " in proc.stderr
