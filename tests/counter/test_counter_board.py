"""The hall board on a real hall plane: calls, waiting per queue, 去向牌, notices, voice."""

from __future__ import annotations

from datetime import datetime

import pytest
from clerks import DEMO_PIN

from counter.board import HallBoard
from counter.settings import BoardSettings, CounterSettings
from hall.ui.voice.announcer import Announcer, SilentOutput

pytestmark = pytest.mark.broker
WAIT = 5000
NOW = datetime(2026, 11, 23, 9, 30, 5)


def test_the_board_shows_calls_queues_staff_and_says_calls_in_order(
    qtbot, qtlink, hall, voice_pack, screenshots
):
    announcer = Announcer(voice_pack, SilentOutput())
    settings = CounterSettings(board=BoardSettings(notice_s=1))
    board = HallBoard(qtlink("board-1"), settings=settings, announcer=announcer, now=lambda: NOW)
    qtbot.addWidget(board)
    board.resize(1920, 1080)
    qtbot.waitUntil(
        lambda: board.hall_name == "示范街道为民服务中心" and bool(board.board), timeout=WAIT
    )

    for window, clerk in (("1", "1001"), ("3", "1003"), ("4", "2001"), ("6", "3001")):
        hall.cmd(window, {"cmd": "login", "clerk": clerk, "pin": DEMO_PIN})
    hall.cmd("6", {"cmd": "staff_status", "status": "外出"})
    for _ in range(3):
        hall.issue(queue="A")
    hall.issue("rs-card")
    hall.issue("rs-proof")
    hall.issue("gjj-query")
    hall.cmd("1", {"cmd": "call_next"})
    hall.cmd("4", {"cmd": "call_next"})
    hall.cmd("3", {"cmd": "call_next"})

    qtbot.waitUntil(lambda: len(announcer.history) == 3, timeout=WAIT)
    assert [a.text for a in announcer.history] == [
        "请 A001 号到 1 号窗口办理",
        "请 B001 号到 4 号窗口办理",
        "请 A002 号到 3 号窗口办理",
    ]
    assert board.latest_sentence == "请 A002 号到3号窗口办理"
    qtbot.waitUntil(lambda: len(board.board.get("recent_calls", [])) == 3, timeout=WAIT)
    waiting = {q["id"]: (q["waiting"], q["est_wait_min"]) for q in board.board["queues"]}
    assert waiting["A"][0] == 1 and waiting["B"][0] == 1 and waiting["D"][0] == 1
    assert waiting["C"] == (0, 0)
    qtbot.waitUntil(lambda: board.windows.get("6", {}).get("staff_status") == "外出", timeout=WAIT)
    assert board.windows["1"]["clerk"]["name"] == "王晓燕"
    assert board.notices[0].startswith("本中心工作时间")
    qtbot.waitUntil(lambda: board.notice_index == 1, timeout=3000)  # notices rotate
    board.notice_index = 0
    board._flash_on = True
    board.grab().save(str(screenshots / "counter-board.png"))


def test_a_restarted_board_shows_recent_calls_at_once(qtbot, qtlink, hall):
    hall.cmd("2", {"cmd": "login", "clerk": "1002", "pin": DEMO_PIN})
    hall.issue("gjj-query")
    hall.cmd("2", {"cmd": "call_next"})
    board = HallBoard(qtlink("board-1"), now=lambda: NOW)
    qtbot.addWidget(board)
    qtbot.waitUntil(lambda: board.latest is not None, timeout=WAIT)
    assert board.latest_sentence == "请 D001 号到2号窗口办理"
    assert not board.flashing  # nothing new was called
