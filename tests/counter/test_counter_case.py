"""The caller shows the case (#14): the ticket's items, 绿色通道 or 预约, minutes waited,
transfers, the 办件编号 typed or scanned, 办结本件 per case, 办结 for the ticket.

Built on the contract's window state (``current`` with ``priority_reason``,
``waited_min``, ``transfers``, ``items``; ``cases``); the requests the caller sends are
caught before the broker so each one can be read.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from counter.caller import CallerWindow
from hall.core.clock import FakeClock
from hall.ui.qt import Qt

pytestmark = pytest.mark.broker
WAIT = 5000

CATALOG = {
    "hall": "demo-hall",
    "queues": [
        {"id": "A", "name": "户籍业务", "prefix": "A"},
        {"id": "D", "name": "公积金", "prefix": "D"},
    ],
    "items": [
        {"id": "gjj-query", "name": "住房公积金个人账户查询", "queue": "D"},
        {"id": "hj-birth", "name": "婚生子女出生申报", "queue": "A"},
        {"id": "hj-proof", "name": "公安派出所出具证明", "queue": "A"},
    ],
    "windows": [
        {"id": "1", "name": "1号窗口", "department": "综合受理"},
        {"id": "3", "name": "3号窗口", "department": "综合受理"},
    ],
}
CLERK = {"id": "1003", "name": "陈静", "staff_no": "1003", "photo": "", "department": "综合受理"}


def state(status="serving", cases=(), **current):
    return {
        "window": "3",
        "name": "3号窗口",
        "status": "serving",
        "clerk": CLERK,
        "staff_status": "在岗",
        "current": {
            "ticket_id": "t-1",
            "code": "A007",
            "queue": "A",
            "item": "hj-birth",
            "status": status,
            "call_count": 1,
            "priority": "green",
            "priority_reason": "elderly",
            "appointment": False,
            "issued_at": "2026-11-23T09:02:00+08:00",
            "waited_min": 23,
            "transfers": [{"from_queue": "A", "to_window": "3", "at": "2026-11-23T09:18:00+08:00"}],
            "items": ["hj-birth", "hj-proof"],
            **current,
        },
        "cases": list(cases),
        "waiting": 3,
        "waiting_codes": ["A008", "D003", "A009"],
    }


FIRST_CASE = {
    "case_id": "c-1",
    "item": "hj-birth",
    "item_name": "婚生子女出生申报",
    "case_no": "440305-2026-000123",
    "finished_at": "2026-11-23T09:31:00+08:00",
    "rated": True,
}


@pytest.fixture
def caller(qtbot, qtlink):
    c = CallerWindow(qtlink("caller-3"), "3", clock=FakeClock(datetime(2026, 11, 23, 9, 40)))
    qtbot.addWidget(c)
    c.resize(1024, 768)
    c.sent = []

    def request(topic, payload, callback, **_kw):
        c.sent.append(payload)
        c.reply = callback

    c.qtlink.request = request
    c.apply_catalog(CATALOG)
    yield c
    c.shutdown()


def listed(widget):
    return [widget.item(i).text() for i in range(widget.count())]


def test_the_caller_shows_the_ticket_its_cases_and_finishes_each_case(caller, qtbot, screenshots):
    c = caller
    c.apply_state(state(cases=[FIRST_CASE]))
    assert c.current_label.text() == "A007"
    assert c.flag_label.text() == "绿色通道（老年人）" and not c.flag_label.isHidden()
    assert "已等候 23 分钟" in c.current_info.text()
    info = c.ticket_info.text()
    assert "事项：婚生子女出生申报、公安派出所出具证明" in info
    assert "转移：09:18 从 A 户籍业务 转至 3号窗口" in info
    assert listed(c.case_list) == [
        "✔ 09:31 已办结  婚生子女出生申报\n    办件编号 440305-2026-000123  已评价"
    ]
    assert listed(c.waiting_list) == ["A008", "D003", "A009"]
    assert c.case_item.currentData() == "hj-birth"  # the ticket's item first and chosen
    assert c.finish_case_button.isEnabled()

    # the second case: another item, its number typed (a wedge scanner types the same)
    c.case_item.setCurrentIndex(c.case_item.findData("hj-proof"))
    qtbot.keyClicks(c.case_no_input, " 440305-2026-000124 ")
    qtbot.keyClick(c.case_no_input, Qt.Key.Key_Return)
    assert c.message == "办件编号 440305-2026-000124 已录入，按“办结本件”提交"
    c.grab().save(str(screenshots / "counter-caller_case.png"))

    qtbot.mouseClick(c.finish_case_button, Qt.MouseButton.LeftButton)
    assert c.sent[-1] == {
        "cmd": "finish_case",
        "window": "3",
        "item": "hj-proof",
        "case_no": "440305-2026-000124",
    }
    c.reply(
        True,
        FIRST_CASE
        | {
            "case_id": "c-2",
            "item": "hj-proof",
            "item_name": "公安派出所出具证明",
            "case_no": "440305-2026-000124",
            "rated": False,
        },
    )
    assert c.message == "已办结本件：公安派出所出具证明（办件编号 440305-2026-000124）"
    assert c.message_kind == "ok" and c.case_no_input.text() == ""
    assert c.case_item.currentData() == "hj-birth"  # back to the ticket's own
    second = FIRST_CASE | {
        "case_id": "c-2",
        "item": "hj-proof",
        "item_name": "公安派出所出具证明",
        "case_no": "440305-2026-000124",
        "finished_at": "2026-11-23T09:44:00+08:00",
        "rated": False,
    }
    c.apply_state(state(cases=[FIRST_CASE, second]))
    assert listed(c.case_list)[1] == (
        "✔ 09:44 已办结  公安派出所出具证明\n    办件编号 440305-2026-000124  待评价"
    )
    c.grab().save(str(screenshots / "counter-caller_two_cases.png"))

    qtbot.mouseClick(c.finish_button, Qt.MouseButton.LeftButton)
    assert c.sent[-1] == {"cmd": "finish", "window": "3"}


def test_a_bad_case_number_is_refused_in_chinese_and_nothing_is_sent(caller, qtbot):
    c = caller
    c.apply_state(state())
    for bad in ("440305/2026", "办件123", "x" * 41):
        c.case_no_input.setText(bad)
        c.finish_case()
        assert c.message_kind == "error"
        assert c.message == "办件编号只能由数字、字母和“-”组成，最多40位，请核对后重新录入或扫码"
    assert c.sent == []
    c.case_no_input.clear()
    c.finish_case()  # a case without a number is allowed
    assert c.sent[-1] == {"cmd": "finish_case", "window": "3", "item": "hj-birth"}


def test_finish_carries_the_number_of_a_ticket_with_no_case_and_keeps_a_typed_one(caller, qtbot):
    c = caller
    c.apply_state(state())
    c.case_no_input.setText("B-77")
    c.finish()
    assert c.sent[-1] == {"cmd": "finish", "window": "3", "case_no": "B-77"}
    c.reply(True, {"code": "A007"})
    assert c.message == "A007 已办结" and c.case_no_input.text() == ""

    c.sent.clear()
    c.apply_state(state(cases=[FIRST_CASE]))
    c.case_no_input.setText("B-78")  # typed and not yet finished: would be lost
    c.finish()
    assert c.sent == [] and c.message_kind == "error"
    assert c.message == "办件编号 B-78 尚未办结：请先按“办结本件”，或清空编号后再办结"


def test_a_called_ticket_cannot_finish_a_case_and_a_new_ticket_clears_the_number(caller):
    c = caller
    c.apply_state(state(status="called"))
    assert not c.finish_case_button.isEnabled()
    c.case_no_input.setText("K-1")
    c.finish_case()
    assert c.sent == [] and c.message == "请先开始办理当前号码，再办结本件"
    c.apply_state(
        state(
            code="A008",
            priority="appointment",
            priority_reason="appointment",
            appointment=True,
            transfers=[],
            items=["hj-birth"],
        )
    )
    assert c.case_no_input.text() == ""
    assert c.flag_label.text() == "预约"
    assert "转移" not in c.ticket_info.text()


def test_an_old_engine_state_shows_the_ticket_without_case_fields(caller):
    c = caller
    old = state()
    for key in ("priority_reason", "appointment", "waited_min", "transfers", "items"):
        old["current"].pop(key)
    old["current"]["priority"] = "normal"
    old.pop("cases")
    c.apply_state(old)
    assert c.current_label.text() == "A007" and c.flag_label.isHidden()
    assert "已等候 38 分钟" in c.current_info.text()  # from issued_at and the clock
    assert c.ticket_info.text() == "事项：婚生子女出生申报"
    assert listed(c.case_list) == ["本号尚无办结的办件"]


def test_hostile_case_fields_are_bounded_and_never_break_the_screen(caller):
    c = caller
    c.apply_state(
        state(
            cases=[None, "x", {"item": 5, "case_no": ["a"], "finished_at": 3, "rated": "yes"}]
            + [FIRST_CASE] * 500,
            waited_min="many",
            transfers="A",
            items={"x": 1},
        )
    )
    assert c.current_label.text() == "A007"
    assert c.case_list.count() <= 20


def test_the_window_scanner_fills_the_case_number(caller, qtbot, keyboard):
    c = caller
    c.apply_state(state())
    scanner = keyboard("scanner")
    c.scanner_from(scanner.path, opener=scanner.open)
    qtbot.waitUntil(lambda: scanner.grabbed, timeout=WAIT)
    scanner.type_text("440305-2026-000125")
    qtbot.waitUntil(lambda: c.case_no_input.text() == "440305-2026-000125", timeout=WAIT)
    assert c.message == "办件编号 440305-2026-000125 已录入，按“办结本件”提交"
    scanner.type_text("BAD/CODE")
    qtbot.waitUntil(lambda: c.message_kind == "error", timeout=WAIT)
    assert c.case_no_input.text() == "440305-2026-000125"  # the good one stays


def test_a_renamed_item_in_a_new_catalogue_shows_on_the_next_state(caller):
    """The names are read once per catalogue, not per window state: a new catalogue
    must still reach the clerk's screen."""
    c = caller
    c.apply_state(state())
    assert c.ticket_info.text().startswith("事项：婚生子女出生申报")
    renamed = {
        **CATALOG,
        "items": [
            {**i, "name": "出生登记"} if i["id"] == "hj-birth" else i for i in CATALOG["items"]
        ],
    }
    c.apply_catalog(renamed)
    assert c.ticket_info.text().startswith("事项：出生登记")
    c.apply_state(state())
    assert c.ticket_info.text().startswith("事项：出生登记")
