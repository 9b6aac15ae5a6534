"""The center's "reprint" reaches the kiosk: center -> sync agent -> hall plane -> kiosk."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from sync.center import Center

pytestmark = pytest.mark.broker
HALL = "demo-hall"


def command(kiosk: Any, center: Center, cmd: str, args: dict[str, Any]) -> Any:
    """The center's command, answered while the kiosk's GUI thread keeps running."""
    answers: list[Any] = []
    worker = threading.Thread(
        target=lambda: answers.append(center.command(HALL, "kiosk-1", cmd, args))
    )
    worker.start()
    kiosk.qtbot.waitUntil(lambda: not worker.is_alive(), timeout=8000)
    return answers[0]


def test_center_reprints_a_ticket_the_kiosk_holds(kiosk, relay):
    center = relay("kiosk-1", "reprint")
    kiosk.printer.set_paper("out")
    kiosk.tap("common-gjj-query")
    kiosk.wait_screen("guide")
    kiosk.tap("take")
    kiosk.qtbot.waitUntil(lambda: kiosk.window.session.print_state == "failed")
    (held,) = kiosk.window.unprinted()
    assert held.code == "D001" and kiosk.printer.tickets == []
    kiosk.window.go_home()  # the citizen walked away

    # Still out of paper: the center hears why, and the kiosk keeps the ticket.
    answer = command(kiosk, center, "reprint", {"code": "D001"})
    assert answer["error"]["code"] == "printer_paper_out"
    assert answer["error"]["message_zh"] == "打印机缺纸，请联系工作人员"
    assert [t.code for t in kiosk.window.unprinted()] == ["D001"]

    kiosk.printer.set_paper("ok")  # staff load a new roll
    answer = command(kiosk, center, "reprint", {"ticket_id": held.ticket_id})
    assert answer == {
        "ok": True,
        "result": {"ticket_id": held.ticket_id, "code": "D001", "printed": True},
    }
    assert b"D001" in kiosk.wait_printed()
    kiosk.qtbot.waitUntil(lambda: kiosk.window.unprinted() == [])

    # Printed now, so no longer held; unknown tickets and empty requests are refused.
    for args in ({"code": "D001"}, {"ticket_id": "no-such-ticket"}):
        answer = command(kiosk, center, "reprint", args)
        assert answer["error"]["code"] == "not_held", answer
        assert answer["error"]["message_zh"] == "本机没有该号票的待补打记录"
    answer = command(kiosk, center, "reprint", {})
    assert answer["error"] == {
        "code": "bad_request",
        "message": "reprint needs 'ticket_id' or 'code'",
        "message_zh": "请提供票号或号码",
    }
    assert len(kiosk.printer.tickets) == 1
