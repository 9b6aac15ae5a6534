"""The clerk's caller on a real hall plane, driven by clicks and by a keypad (real evdev events)."""

from __future__ import annotations

import pytest

from counter.caller import CallerWindow
from hall.qt import Qt
from hall.qtlink import LINK_DOWN_ZH

pytestmark = pytest.mark.broker
WAIT = 5000


@pytest.fixture
def caller(qtbot, qtlink):
    made = []

    def make(window="3"):
        c = CallerWindow(qtlink(f"caller-{window}"), window)
        qtbot.addWidget(c)
        c.resize(1024, 768)
        qtbot.waitUntil(lambda: c.state is not None, timeout=WAIT)
        made.append(c)
        return c

    yield make
    for c in made:
        c.shutdown()


def click(qtbot, button):
    # As a clerk would: the window's new state (which enables the button) may
    # arrive a moment after the command's answer.
    try:
        qtbot.waitUntil(button.isEnabled, timeout=WAIT)
    except AssertionError:
        raise AssertionError(f"{button.text()} stayed disabled") from None
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def wait_message(qtbot, c, text, kind="ok"):
    qtbot.waitUntil(lambda: c.message == text, timeout=WAIT)
    assert c.message_kind == kind


def test_login_then_keypad_calls_starts_and_finishes(qtbot, hall, caller, keyboard, screenshots):
    c = caller("3")
    qtbot.keyClicks(c.staff_input, "1003")
    click(qtbot, c.login_button)
    wait_message(qtbot, c, "登录成功：陈静（工号 1003）")
    qtbot.waitUntil(lambda: c.model.clerk_name == "陈静", timeout=WAIT)
    assert "当前登录：陈静（工号 1003）" in c.clerk_label.text()

    first, second = hall.issue("gjj-query"), hall.issue(queue="A")
    qtbot.waitUntil(lambda: c.model.waiting == 2, timeout=WAIT)
    pad = keyboard("caller")
    c.keys_from(pad.path, opener=pad.open)
    qtbot.waitUntil(lambda: pad.grabbed, timeout=WAIT)

    pad.press("KEY_KPENTER")  # call next
    wait_message(qtbot, c, f"已呼叫 {first}")
    qtbot.waitUntil(lambda: c.model.code == first and c.model.called, timeout=WAIT)
    assert c.current_label.text() == first
    assert [c.waiting_list.item(i).text() for i in range(c.waiting_list.count())] == [second]
    assert c.waiting_label.text() == "本窗口等候 1 人"
    c.grab().save(str(screenshots / "counter-caller.png"))

    pad.press("KEY_KP1")  # start
    wait_message(qtbot, c, f"开始办理 {first}")
    qtbot.waitUntil(lambda: not c.model.called, timeout=WAIT)
    pad.press("KEY_KP0")  # finish
    wait_message(qtbot, c, f"{first} 已办结")
    qtbot.waitUntil(lambda: c.model.code == "", timeout=WAIT)
    assert c.model.last_finished["code"] == first


def test_every_refusal_is_a_clear_chinese_message(qtbot, hall, hall_clock, caller):
    c = caller("3")
    c.call_next()
    wait_message(qtbot, c, "窗口未登录，请先登录工号", "error")
    c.login("9999")
    wait_message(qtbot, c, "工号不存在，请核对后重新登录", "error")
    c.login("1003")
    wait_message(qtbot, c, "登录成功：陈静（工号 1003）")
    c.call_next()
    wait_message(qtbot, c, "当前没有等候的号码", "error")
    code = hall.issue(queue="A")
    c.call_next()
    wait_message(qtbot, c, f"已呼叫 {code}")
    c.recall()
    wait_message(qtbot, c, "重呼过于频繁，请稍候再试（10 秒后可重呼）", "error")
    hall_clock.advance(11)
    c.recall()
    wait_message(qtbot, c, f"已重呼 {code}（第 2 次）")
    c.logout()
    wait_message(qtbot, c, "当前号码尚未处理完毕：请开始办理、重呼或过号", "error")
    c.no_show()
    wait_message(qtbot, c, f"{code} 已过号")


def test_pause_with_a_reason_resume_by_keypad_and_staff_status(qtbot, hall, caller, keyboard):
    c = caller("4")
    c.login("2001")
    wait_message(qtbot, c, "登录成功：赵敏（工号 2001）")
    c.pause_reason.setCurrentText("会议学习")
    click(qtbot, c.pause_button)
    wait_message(qtbot, c, "已暂停服务：会议学习")
    qtbot.waitUntil(lambda: c.model.status == "paused", timeout=WAIT)
    assert c.model.pause_reason == "会议学习" and c.model.staff_status == "暂离"
    assert not c.call_button.isEnabled() and c.resume_button.isEnabled()

    c.staff_status.setCurrentText("学习")
    click(qtbot, c.staff_status_button)
    wait_message(qtbot, c, "去向已设为：学习")
    qtbot.waitUntil(lambda: c.model.staff_status == "学习", timeout=WAIT)

    pad = keyboard("caller4")
    c.keys_from(pad.path, opener=pad.open)
    qtbot.waitUntil(lambda: pad.grabbed, timeout=WAIT)
    pad.press("KEY_KP5")  # resume: back at the window
    wait_message(qtbot, c, "已恢复服务")
    qtbot.waitUntil(lambda: c.model.status == "idle", timeout=WAIT)
    assert c.model.staff_status == "在岗"
    pad.press("KEY_KP4")  # the keypad's pause uses the configured reason
    wait_message(qtbot, c, "已暂停服务：临时离开")
    qtbot.waitUntil(lambda: c.model.pause_reason == "临时离开", timeout=WAIT)


def test_transfer_to_another_window_keeps_the_place(qtbot, hall, caller, keyboard):
    c = caller("3")
    qtbot.waitUntil(lambda: c.transfer_target.count() > 1, timeout=WAIT)  # from the catalogue
    c.login("1003")
    wait_message(qtbot, c, "登录成功：陈静（工号 1003）")
    code = hall.issue("rs-card")
    c.call_next()
    wait_message(qtbot, c, f"已呼叫 {code}")
    qtbot.waitUntil(lambda: c.transfer_button.isEnabled(), timeout=WAIT)
    pad = keyboard("caller3t")
    c.keys_from(pad.path, opener=pad.open)
    qtbot.waitUntil(lambda: pad.grabbed, timeout=WAIT)
    pad.press("KEY_KP2")  # transfer, but no target chosen yet
    wait_message(qtbot, c, "请先在屏幕上选择转移目标（队列或窗口）", "error")
    c.transfer_target.setCurrentIndex(c.transfer_target.findData("window:4"))
    assert c.transfer_target.currentText() == "4号窗口（人社局）"
    click(qtbot, c.transfer_button)
    wait_message(qtbot, c, f"{code} 已转至4号窗口，保留排队位置")
    window4 = hall.cmd("4", {"cmd": "window_view"})
    assert window4["waiting_codes"] == [code]


def test_a_lost_broker_is_shown_and_commands_say_so(qtbot, hall, caller, broker):
    c = caller("6")
    assert c.link_label.text() == "● 已连接"
    broker.kill()
    qtbot.waitUntil(lambda: c.link_label.text() == "● 连接中断", timeout=WAIT)
    c.call_next()
    wait_message(qtbot, c, LINK_DOWN_ZH, "error")
    broker.start()
    qtbot.waitUntil(lambda: c.link_label.text() == "● 已连接", timeout=15000)
    c.login("3001")
    qtbot.waitUntil(lambda: c.message == "登录成功：孙丽华（工号 3001）", timeout=15000)
