"""The hall board on a real hall plane: calls, waiting per queue, 去向牌, notices, voice."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from clerks import DEMO_PIN

from counter import paint
from counter.board import HallBoard
from counter.settings import BoardSettings, CounterSettings, DisplaySettings
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


# ---------------------------------------------------------------------- 去向牌 (#14)

STAFF = [
    {"id": "1001", "name": "王晓燕", "staff_no": "1001", "department": "综合受理",
     "photo": "1001.png", "phone": "0755-86001001"},
    {"id": "1003", "name": "陈静", "staff_no": "1003", "department": "综合受理",
     "photo": "missing/1003.png", "phone": "0755-86001003"},
    {"id": "2001", "name": "赵敏", "staff_no": "2001", "department": "人社局",
     "photo": "", "phone": "0755-86002001"},
    {"id": "3001", "name": "孙丽华", "staff_no": "3001", "department": "民政局",
     "photo": "", "phone": "0755-86003001"},
]  # fmt: skip


def window_state(window, clerk=None, staff_status=None, status="idle", code=None):
    member = next((m for m in STAFF if m["id"] == clerk), None)
    return {
        "window": window,
        "name": f"{window}号窗口",
        "department": {"4": "人社局", "5": "人社局", "6": "民政局"}.get(window, "综合受理"),
        "status": status if member else "closed",
        "clerk": None
        if member is None
        else {k: member[k] for k in ("id", "name", "staff_no", "photo", "department")},
        "staff_status": staff_status or ("在岗" if member else None),
        "current": {"code": code, "status": "serving"} if code else None,
        "waiting": 0,
    }


def staff_board(tmp_path, qtbot):
    from hall.ui.qt import QColor, QPixmap

    picture = QPixmap(240, 240)
    picture.fill(QColor("#d97706"))
    picture.save(str(tmp_path / "1001.png"))
    settings = CounterSettings(display=DisplaySettings(photo_dir=str(tmp_path)))
    board = HallBoard(None, settings=settings, now=lambda: NOW)
    qtbot.addWidget(board)
    board.resize(1920, 1080)
    board.apply_catalog({"hall_name": "示范街道为民服务中心", "staff": STAFF})
    board.apply_board({"queues": [{"id": "A", "prefix": "A", "name": "户籍业务", "waiting": 3,
                                   "est_wait_min": 12}],
                       "recent_calls": [{"code": "A002", "window": "3"}]})  # fmt: skip
    for state in (
        window_state("1", "1001", code="A001"),
        window_state("2"),
        window_state("3", "1003", "暂离", status="paused", code=None),
        window_state("4", "2001", "学习", status="paused"),
        window_state("5"),
        window_state("6", "3001", "外出", status="paused"),
    ):
        board.apply_window(state)
    return board


def test_the_board_shows_the_staff_page_in_turn_with_the_queues(qtbot, tmp_path, screenshots):
    board = staff_board(tmp_path, qtbot)
    cards = {c.window: c for c in board.staff_cards}
    assert [c.window for c in board.staff_cards] == ["1", "2", "3", "4", "5", "6"]
    one = cards["1"]
    assert (one.title, one.department, one.status_text) == ("王晓燕", "综合受理", "在岗")
    assert (one.where, one.phone_text) == ("1号窗口 · 综合受理", "电话 0755-86001001")
    assert (cards["3"].status_text, cards["4"].status_text, cards["6"].status_text) == (
        "暂离", "学习", "外出",
    )  # fmt: skip
    assert (cards["2"].title, cards["2"].status_text, cards["2"].phone) == (
        "暂无人员", "未开放", "",
    )  # fmt: skip
    assert board.page == "queues"
    board.next_page()
    assert board.page == "staff:0"
    board.latest = {"code": "A002", "window": "3"}
    board.grab().save(str(screenshots / "counter-board_staff.png"))
    board.next_page()
    assert board.page == "queues"  # one page of six, then the queues again


def test_the_staff_page_keeps_the_calls_where_they_were(qtbot, tmp_path):
    """The latest call is drawn the same on both pages: only the right panel turns."""
    board = staff_board(tmp_path, qtbot)
    board.latest = {"code": "A002", "window": "3"}
    left = (0, 150, 1000, 700)
    queues = board.grab().toImage().copy(*left)
    board.show_page("staff:0")
    staff = board.grab().toImage().copy(*left)
    # the same drawing: text is anti-aliased a shade differently from one draw of a
    # glyph to the next (by up to 12 of 255), a moved or missing call by far more
    assert largest_difference(queues, staff) <= 32
    assert board.grab().toImage() != queues  # (the page did change something)


def largest_difference(a, b) -> int:
    """The largest difference of one colour channel between two images, compared at a
    quarter of their size."""
    from hall.ui.qt import Qt

    assert a.size() == b.size()
    w, h = a.width() // 4, a.height() // 4
    a = a.scaled(
        w, h, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
    b = b.scaled(
        w, h, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
    return (
        max(
            abs(((p >> s) & 255) - ((q >> s) & 255))
            for y in range(h)
            for x in range(w)
            if (p := a.pixel(x, y)) != (q := b.pixel(x, y))
            for s in (0, 8, 16)
        )
        if a != b
        else 0
    )


def test_a_photo_that_is_missing_becomes_a_silhouette_and_a_real_one_is_drawn(qtbot, tmp_path):
    from counter import paint

    board = staff_board(tmp_path, qtbot)
    cards = {c.window: c for c in board.staff_cards}
    real = board._photo(cards["1"], 120).toImage()
    assert real.pixelColor(60, 60).name() == "#d97706"
    placeholder = board._photo(cards["3"], 120).toImage()  # the config's path is missing
    assert placeholder == paint.silhouette(120).toImage()


def test_seven_windows_or_more_take_two_staff_pages(qtbot, tmp_path):
    board = staff_board(tmp_path, qtbot)
    for w in ("7", "8", "10"):
        board.apply_window(window_state(w))
    assert board.staff_pages == 2
    board.next_page()
    board.next_page()
    assert board.page == "staff:1"
    board.grab()  # drawn without an error


def test_status_pills_are_readable():
    from counter import paint

    for status, colour in (paint.STAFF_COLOURS | paint.STATUS_COLOURS).items():
        assert paint.contrast(colour, paint.TEXT) >= 7, status
    assert paint.contrast(paint.NOBODY_COLOUR, paint.TEXT) >= 7


def red_in_strip(board, column: int) -> int:
    """The alert red's pixels in one window's cell of the windows' strip (six across)."""
    image = board.grab().toImage()
    w, h = image.width(), image.height()
    red = paint.ALERT_BG
    return sum(
        image.pixelColor(x, y) == red
        for x in range(column * w // 6, (column + 1) * w // 6, 2)
        for y in range(int(h * 0.6), int(h * 0.8), 2)
    )


# A window's caller in its own process, killed with SIGKILL: no goodbye, the broker
# sends its Last Will (presence ``offline``).
CALLER_CHILD = """
import sys, time
from sync.mqtt import MqttLink
link = MqttLink(host=sys.argv[1], port=int(sys.argv[2]), hall_id="demo-hall",
                device_id="caller-5", role="caller").start()
while not link.connected.wait(0.1):
    pass
print("up", flush=True)
time.sleep(120)
"""


def test_a_device_gone_offline_is_named_on_the_board(
    qtbot, qtlink, hall, broker, device, screenshots
):
    board = HallBoard(qtlink("board-1"), now=lambda: NOW)
    qtbot.addWidget(board)
    board.resize(1920, 1080)
    qtbot.waitUntil(lambda: board.hall_name == "示范街道为民服务中心", timeout=WAIT)
    child = subprocess.Popen(
        [sys.executable, "-c", CALLER_CHILD, broker.host, str(broker.port)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        assert child.stdout.readline().strip() == b"up"
        evaluator = device("evaluator-1", "evaluator")
        assert board.offline_lines == () and board.alert_line == ""  # both online
        child.kill()
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
        child.stdout.close()
    qtbot.waitUntil(lambda: board.offline_lines == ("设备离线：5号窗口叫号器",), timeout=WAIT)
    assert board.alert_line == "设备离线：5号窗口叫号器"
    assert board.offline_windows == {"5"}  # its pill in the windows' strip says 离线
    assert red_in_strip(board, 4) > 200 and red_in_strip(board, 0) == 0
    board.grab().save(str(screenshots / "counter-board_device_offline.png"))

    evaluator.stop()  # a clean stop says offline as well
    qtbot.waitUntil(lambda: len(board.offline_lines) == 2, timeout=WAIT)
    board.alert_index = 0  # they take turns on the red line
    assert board.alert_line == "(1/2) 设备离线：5号窗口叫号器"
    board.next_notice()
    assert board.alert_line == "(2/2) 设备离线：1号窗口评价器"

    device("caller-5", "caller")  # back: taken off the line
    qtbot.waitUntil(lambda: board.offline_lines == ("设备离线：1号窗口评价器",), timeout=WAIT)
    assert board.offline_windows == {"1"}
    board.shutdown()
