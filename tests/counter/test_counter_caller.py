"""The clerk's caller on a real hall plane, driven by clicks and by a keypad (real evdev events)."""

from __future__ import annotations

import pytest
from clerks import DEMO_PIN

from counter import palette
from counter.caller import CallerWindow
from hall.ui.qt import Qt
from hall.ui.qtlink import LINK_DOWN_ZH

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


def looks_greyed(window, button) -> bool:
    """The button's face on screen is the disabled grey, not the primary blue."""
    image = window.grab().toImage()
    centre = button.mapTo(window, button.rect().center())
    face = image.pixelColor(centre.x(), button.mapTo(window, button.rect().topLeft()).y() + 6)
    return face.name() == palette.CALLER_DISABLED.ground


def wait_message(qtbot, c, text, kind="ok"):
    qtbot.waitUntil(lambda: c.message == text, timeout=WAIT)
    assert c.message_kind == kind
    # and the clerk sees its colours: the band's ground, beside the text
    band = c.message_label.grab().toImage()
    ground = band.pixelColor(4, band.height() // 2).name()
    assert ground == palette.CALLER[f"message {kind}"].ground, (text, kind, ground)


def test_login_then_keypad_calls_starts_and_finishes(qtbot, hall, caller, keyboard, screenshots):
    c = caller("3")
    qtbot.keyClicks(c.staff_input, "1003")
    qtbot.keyClicks(c.pin_input, DEMO_PIN)
    assert c.pin_input.displayText() != DEMO_PIN  # shown as dots
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


def test_every_refusal_is_a_clear_chinese_message(qtbot, hall, hall_clock, caller, screenshots):
    c = caller("3")
    c.call_next()
    wait_message(qtbot, c, "窗口未登录，请先登录工号", "error")
    assert c.model.status == "closed" and not c.logout_button.isEnabled()
    assert looks_greyed(c, c.recall_button) and not looks_greyed(c, c.login_button)
    c.grab().save(str(screenshots / "counter-caller_logged_out.png"))
    c.login("9999", DEMO_PIN)
    wait_message(qtbot, c, "工号不存在，请核对后重新登录", "error")
    c.login("1003", DEMO_PIN)
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


def test_pause_with_a_reason_resume_by_keypad_and_staff_status(
    qtbot, hall, caller, keyboard, screenshots
):
    c = caller("4")
    c.login("2001", DEMO_PIN)
    wait_message(qtbot, c, "登录成功：赵敏（工号 2001）")
    c.pause_reason.setCurrentText("会议学习")
    click(qtbot, c.pause_button)
    wait_message(qtbot, c, "已暂停服务：会议学习")
    qtbot.waitUntil(lambda: c.model.status == "paused", timeout=WAIT)
    assert c.model.pause_reason == "会议学习" and c.model.staff_status == "暂离"
    assert not c.call_button.isEnabled() and c.resume_button.isEnabled()
    c.grab().save(str(screenshots / "counter-caller_paused.png"))
    assert looks_greyed(c, c.call_button)  # paused: 呼叫下一位 does not look pressable
    assert c.staff_status.currentText() == "暂离"  # the chooser shows where the clerk is

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


def test_transfer_to_another_window_keeps_the_place(qtbot, hall, caller, keyboard, screenshots):
    c = caller("3")
    qtbot.waitUntil(lambda: c.transfer_target.count() > 1, timeout=WAIT)  # from the catalogue
    c.login("1003", DEMO_PIN)
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
    c.grab().save(str(screenshots / "counter-caller_transferring.png"))
    click(qtbot, c.transfer_button)
    wait_message(qtbot, c, f"{code} 已转至4号窗口，保留排队位置")
    qtbot.waitUntil(lambda: c.model.code == "", timeout=WAIT)
    c.grab().save(str(screenshots / "counter-caller_transferred.png"))
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
    c.login("3001", DEMO_PIN)
    qtbot.waitUntil(lambda: c.message == "登录成功：孙丽华（工号 3001）", timeout=15000)


def test_the_screen_login_needs_the_pin(qtbot, hall, caller):
    c = caller("2")
    qtbot.keyClicks(c.staff_input, "1002")
    click(qtbot, c.login_button)
    assert (c.message, c.message_kind) == ("请输入密码", "error")  # nothing was sent
    assert hall.cmd("2", {"cmd": "window_view"})["status"] == "closed"
    qtbot.keyClicks(c.pin_input, "0000")
    click(qtbot, c.login_button)
    assert c.pin_input.text() == ""  # never kept once sent
    wait_message(qtbot, c, "密码错误，请重新输入（再错 4 次将锁定）", "error")
    assert hall.cmd("2", {"cmd": "window_view"})["status"] == "closed"
    c.call_next()
    wait_message(qtbot, c, "窗口未登录，请先登录工号", "error")
    qtbot.keyClicks(c.pin_input, DEMO_PIN)
    click(qtbot, c.login_button)  # the 工号 stays typed after a wrong PIN
    wait_message(qtbot, c, "登录成功：李建国（工号 1002）")


def test_five_wrong_pins_lock_the_staff_number(qtbot, hall, caller):
    c = caller("2")
    for n in range(4):
        c.login("1002", f"111{n}")
        wait_message(qtbot, c, f"密码错误，请重新输入（再错 {4 - n} 次将锁定）", "error")
    c.login("1002", "1114")
    wait_message(
        qtbot,
        c,
        "密码错误次数过多，该工号已暂时锁定，请稍后再试或联系大厅管理员（约 15 分钟后可再试）",
        "error",
    )


def test_keypad_login_types_the_staff_number_and_the_pin(qtbot, hall, caller, keyboard):
    c = caller("5")
    pad = keyboard("caller5")
    c.keys_from(pad.path, opener=pad.open)
    qtbot.waitUntil(lambda: pad.grabbed, timeout=WAIT)
    shown: list[str] = []

    def press(key: str, then: str) -> None:
        qtbot.wait(150)  # a person typing: slower than contact bounce and a key storm
        pad.press(key)
        qtbot.waitUntil(lambda: then in c.message, timeout=WAIT)
        shown.append(c.message)

    press("KEY_KP7", "键盘登录：输入工号 _")  # the login key
    for n, digit in enumerate("2002", 1):  # a digit twice in a row counts twice
        press(f"KEY_KP{digit}", f"输入工号 {'2002'[:n]}，")
    press("KEY_KPDOT", "输入工号 200，")  # . deletes one
    press("KEY_KP2", "输入工号 2002，")
    press("KEY_KPENTER", "工号 2002：输入密码 _")
    for n, digit in enumerate(DEMO_PIN, 1):
        press(f"KEY_KP{digit}", "●" * n)
    pad.press("KEY_KPENTER")
    wait_message(qtbot, c, "登录成功：周文（工号 2002）")
    assert not any(DEMO_PIN in text for text in shown)  # the PIN is never on the screen
    assert hall.cmd("5", {"cmd": "window_view"})["clerk"]["staff_no"] == "2002"
    qtbot.wait(300)  # the usual debounce is back: one call per press
    pad.press("KEY_KPENTER")  # the keys are the clerk's commands again
    wait_message(qtbot, c, "当前没有等候的号码", "error")


def test_keypad_login_is_cancelled_by_another_key(qtbot, hall, caller, keyboard):
    c = caller("6")
    pad = keyboard("caller6")
    c.keys_from(pad.path, opener=pad.open)
    qtbot.waitUntil(lambda: pad.grabbed, timeout=WAIT)
    pad.press("KEY_KP7")
    qtbot.waitUntil(lambda: c.entry is not None, timeout=WAIT)
    pad.press("KEY_KP3")
    pad.press("KEY_KPPLUS")  # recall's key: not a digit, so it cancels
    wait_message(qtbot, c, "已取消键盘登录", "info")
    assert hall.cmd("6", {"cmd": "window_view"})["status"] == "closed"
