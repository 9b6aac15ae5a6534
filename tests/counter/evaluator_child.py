"""The evaluator app in its own process, for the kill -9 test (not collected by pytest).

``python evaluator_child.py PORT DB [START]`` runs ``EvaluatorWindow`` for
window 1 (offscreen) with a simulated USB five-button device.  ``START`` (ISO
time) is the engine's wall time: the evaluator's clock starts there and runs in
real time, so that a ticket the engine's fixed test clock finished is as fresh
to the evaluator as it is in a hall (without it, the system clock: the test
hall's morning is then days old, and every retained finish stale).  Lines on stdin
``press N`` press button N (real input_event records through the keys
driver); stdout reports ``ready``, ``prompt <ticket_id>``,
``committed <rating_id> <ticket_id>`` (after the durable commit, i.e. when the
citizen sees 谢谢) and ``acked <rating_id>``.
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
from drivers.keys.simulator import SimulatedKeyboard
from hall.ui.qt import QApplication, QTimer
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


def main() -> int:
    port, db = int(sys.argv[1]), sys.argv[2]
    clock = RunningClock(datetime.fromisoformat(sys.argv[3])) if len(sys.argv) > 3 else None
    app = QApplication([])
    link = MqttLink(
        host="127.0.0.1", port=port, hall_id="demo-hall", device_id="evaluator-1", role="evaluator"
    ).start(wait=10)
    qtlink = QtLink(link)
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


if __name__ == "__main__":
    sys.exit(main())
