"""The caller's cases on the real engine and Mosquitto (#14): a 绿色通道 ticket transferred
to window 3, two cases finished one by one with their 办件编号, then the ticket.

Needs the engine's ``finish_case`` and the window state's case fields (the engine side
of #14); until they are there the test says so and is skipped.
"""

from __future__ import annotations

import pytest
from clerks import DEMO_PIN

from counter.caller import CallerWindow
from kiosk.engine.engine import QueueEngine
from sync import topics

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(
        not hasattr(QueueEngine, "finish_case"),
        reason="the engine's finish_case (#14, the engine side) has not landed yet",
    ),
]
WAIT = 5000


def test_two_cases_of_a_green_channel_ticket_are_finished_one_by_one(qtbot, hall, qtlink):
    c = CallerWindow(qtlink("caller-3"), "3")
    qtbot.addWidget(c)
    c.resize(1024, 768)
    try:
        qtbot.waitUntil(lambda: c.state is not None and bool(c.catalog), timeout=WAIT)
        issued = hall.link("kiosk-1").request(
            topics.command("demo-hall", "kiosk-1"),
            {"cmd": "issue", "item": "gjj-query", "priority_reason": "elderly"},
            timeout=5.0,
        )
        assert issued["ok"], issued
        code = issued["result"]["ticket"]["code"]
        hall.cmd("1", {"cmd": "login", "clerk": "1001", "pin": DEMO_PIN})
        hall.cmd("1", {"cmd": "call_next"})
        hall.cmd("1", {"cmd": "transfer", "to_window": "3"})
        c.login("1003", DEMO_PIN)
        qtbot.waitUntil(lambda: c.model.clerk_name == "陈静", timeout=WAIT)
        c.call_next()
        qtbot.waitUntil(lambda: c.model.code == code and c.model.called, timeout=WAIT)
        assert c.flag_label.text() == "绿色通道（老年人）"
        assert "转至 3号窗口" in c.ticket_info.text()
        c.start()
        qtbot.waitUntil(lambda: c.finish_case_button.isEnabled(), timeout=WAIT)

        c.case_no_input.setText("440305-2026-000201")
        c.finish_case()
        qtbot.waitUntil(lambda: c.message.startswith("已办结本件"), timeout=WAIT)
        c.case_item.setCurrentIndex(c.case_item.findData("gjj-rent"))
        c.case_no_input.setText("440305-2026-000202")
        c.finish_case()
        # the window state may come before the answer: wait for both (the answer clears
        # the typed number, which 办结 would otherwise refuse to drop)
        qtbot.waitUntil(lambda: c.ticket is not None and len(c.ticket.cases) == 2, timeout=WAIT)
        qtbot.waitUntil(lambda: "000202" in c.message and not c.case_no_input.text(), timeout=WAIT)
        numbers = [case.case_no for case in c.ticket.cases]
        assert numbers == ["440305-2026-000201", "440305-2026-000202"]
        assert "租房提取" in c.ticket.item_names
        assert c.model.code == code  # the ticket stays being served

        c.finish()
        qtbot.waitUntil(lambda: c.message == f"{code} 已办结", timeout=WAIT)
        qtbot.waitUntil(lambda: c.model.code == "", timeout=WAIT)
        assert len(c.state.get("to_rate") or []) == 2  # each case is rated on its own
    finally:
        c.shutdown()
