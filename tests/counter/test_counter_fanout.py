"""Widgets sharing one hall link each get the state and the calls (the demo, the bench)."""

from __future__ import annotations

import pytest
from clerks import DEMO_PIN

from counter.display import WindowDisplay

pytestmark = pytest.mark.broker
WAIT = 5000


def test_two_displays_on_one_link_both_get_state_and_calls(qtbot, qtlink, hall):
    link = qtlink("display-1")
    first = WindowDisplay(link, "2", "tv")
    qtbot.addWidget(first)
    qtbot.waitUntil(lambda: first.state is not None, timeout=WAIT)
    second = WindowDisplay(link, "2", "led")  # subscribes later: gets the retained state too
    qtbot.addWidget(second)
    qtbot.waitUntil(lambda: second.state is not None, timeout=WAIT)
    other = WindowDisplay(link, "4", "tv")
    qtbot.addWidget(other)

    hall.cmd("2", {"cmd": "login", "clerk": "1002", "pin": DEMO_PIN})
    hall.issue("gjj-query")
    hall.cmd("2", {"cmd": "call_next"})
    qtbot.waitUntil(lambda: first.model.code == second.model.code == "D001", timeout=WAIT)
    assert first.flashing and second.flashing and not other.flashing

    first.shutdown()
    hall.cmd("2", {"cmd": "start"})
    qtbot.waitUntil(lambda: not second.model.called, timeout=WAIT)
    assert first.model.called  # a display that shut down gets nothing more


def test_a_late_subscriber_is_not_handed_an_old_call(qtbot, qtlink, hall):
    link = qtlink("display-1")
    early = WindowDisplay(link, "2", "tv")
    qtbot.addWidget(early)
    hall.cmd("2", {"cmd": "login", "clerk": "1002", "pin": DEMO_PIN})
    hall.issue("gjj-query")
    hall.cmd("2", {"cmd": "call_next"})
    qtbot.waitUntil(lambda: early.flashing, timeout=WAIT)
    late = WindowDisplay(link, "2", "tv")
    qtbot.addWidget(late)
    qtbot.waitUntil(lambda: late.model.code == "D001", timeout=WAIT)
    assert not late.flashing  # the state is replayed as old news; the call event is not
