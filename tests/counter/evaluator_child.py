"""The evaluator app in its own process, for the kill -9 test (not collected by pytest).

``python evaluator_child.py PORT DB [START [MODE]]`` runs ``EvaluatorWindow`` for
window 1 (offscreen) with a simulated USB five-button device, or with MODE
``tablet`` the touch evaluator ``TabletWindow`` (no keys: a press is the citizen's
taps, 确认 then the level's button, and 跳过 on the comment page if one opens).  ``START`` (ISO
time) is the engine's wall time: the evaluator's clock starts there and runs in
real time, so that a ticket the engine's fixed test clock finished is as fresh
to the evaluator as it is in a hall (without it, the system clock: the test
hall's morning is then days old, and every retained finish stale).  Lines on stdin
``press N`` press button N (real input_event records through the keys
driver); stdout reports ``ready``, ``prompt <ticket_id>``,
``committed <rating_id> <ticket_id>`` (after the durable commit, i.e. when the
citizen sees 谢谢, or the reasons / comment page) and ``acked <rating_id>``.  The
tablet says ``prompt`` when it shows the case to confirm.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from counter.evaluator import EvaluatorWindow
from counter.tablet import TabletWindow
from drivers.keys.simulator import SimulatedKeyboard
from hall.ui.qt import QApplication, QObject, QTimer, Signal
from hall.ui.qtlink import QtLink
from sync.mqtt import MqttLink


class RunningClock:
    """Wall time from ``start`` on, in real time."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._t0)

    def monotonic(self) -> float:
        return time.monotonic()


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Taps(QObject):
    """Brings a press from the stdin thread to the GUI thread (the tablet's taps)."""

    press = Signal(int)


def tap(ev: TabletWindow, level: int) -> None:
    """The citizen confirms the case, taps the level, and skips a comment page."""
    if ev.page == "confirm":
        ev.confirm_button.click()
    ev.level_buttons[level].click()
    if ev.page == "comment":
        ev.comment_skip.click()


def main() -> int:
    port, db = int(sys.argv[1]), sys.argv[2]
    clock = RunningClock(datetime.fromisoformat(sys.argv[3])) if len(sys.argv) > 3 else None
    mode = sys.argv[4] if len(sys.argv) > 4 else "buttons"
    app = QApplication([])
    link = MqttLink(
        host="127.0.0.1", port=port, hall_id="demo-hall", device_id="evaluator-1", role="evaluator"
    ).start(wait=10)
    qtlink = QtLink(link)
    if mode == "tablet":
        return run_tablet(app, TabletWindow(qtlink, "1", db, clock=clock))
    ev = EvaluatorWindow(qtlink, "1", db, clock=clock)
    buttons = SimulatedKeyboard("/dev/input/by-id/usb-hall_sim_evaluator-event-kbd")
    ev.keys_from(buttons.path, opener=buttons.open)
    ev.page_changed.connect(
        lambda page: page == "prompt" and say(f"prompt {ev.prompt_ticket['ticket_id']}")
    )
    ev.rating_recorded.connect(lambda r: say(f"committed {r.rating_id} {r.ticket_id}"))
    ev.rating_acked.connect(lambda r, _dup: say(f"acked {r.rating_id}"))

    def presses() -> None:
        for line in sys.stdin:
            word, _, arg = line.strip().partition(" ")
            if word == "press":
                buttons.press(f"KEY_{int(arg)}")

    def ready() -> None:
        if buttons.grabbed:
            threading.Thread(target=presses, daemon=True).start()
            say("ready")
        else:
            QTimer.singleShot(20, ready)

    QTimer.singleShot(0, ready)
    return app.exec()


def run_tablet(app: QApplication, ev: TabletWindow) -> int:
    ev.page_changed.connect(
        lambda page: page == "confirm" and say(f"prompt {ev.prompt_ticket['ticket_id']}")
    )
    ev.rating_recorded.connect(lambda r: say(f"committed {r.rating_id} {r.ticket_id}"))
    ev.rating_acked.connect(lambda r, _dup: say(f"acked {r.rating_id}"))
    taps = Taps()
    taps.press.connect(lambda level: tap(ev, level))

    def presses() -> None:
        for line in sys.stdin:
            word, _, arg = line.strip().partition(" ")
            if word == "press":
                taps.press.emit(int(arg))

    threading.Thread(target=presses, daemon=True).start()
    QTimer.singleShot(0, lambda: say("ready"))
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
