"""The caller's rules without Qt: buttons per window state, keypad login, error texts."""

from __future__ import annotations

from datetime import datetime

import pytest

from counter.caller_flow import BUTTONS, CallerFlow, allowed_buttons, error_text
from counter.texts import window_model
from hall.core.clock import FakeClock

LINK_DOWN = "连接中断"
CURRENT = {"code": "A001", "call_count": 1}
STATES = {
    "logged out": {"status": "closed"},
    "idle": {"status": "idle", "clerk": {"staff_no": "1003"}},
    "called": {"status": "serving", "current": CURRENT | {"status": "called"}},
    "serving": {"status": "serving", "current": CURRENT | {"status": "serving"}},
    "paused": {"status": "paused", "pause_reason": "会议学习"},
}
LOGGED_IN = {"logout", "call_next", "pause", "staff_status"}
ALLOWED = {
    "logged out": set(),
    "idle": LOGGED_IN,
    "called": LOGGED_IN | {"recall", "start", "no_show", "transfer"},
    "serving": LOGGED_IN | {"finish", "finish_case", "transfer"},
    "paused": {"logout", "resume", "staff_status"},
}


@pytest.mark.parametrize("state", list(STATES))
def test_each_state_allows_only_its_buttons(state):
    allowed = allowed_buttons(window_model({"window": "3", **STATES[state]}))
    assert set(allowed) == set(BUTTONS)
    assert {name for name, on in allowed.items() if on} == ALLOWED[state]


class Screen:
    def __init__(self) -> None:
        self.clock = FakeClock(datetime(2026, 11, 23, 9, 30))
        self.shown: list[tuple[str, str]] = []
        self.logins: list[tuple[str, str]] = []
        self.typing: list[bool] = []
        self.flow = CallerFlow(
            clock=self.clock,
            show=lambda kind, text: self.shown.append((kind, text)),
            login=lambda staff_no, pin: self.logins.append((staff_no, pin)),
            typing=self.typing.append,
        )

    @property
    def message(self) -> str:
        return self.shown[-1][1]

    def press(self, *keys: str) -> None:
        for key in keys:
            self.flow.key(key)


def test_keypad_login_types_the_staff_number_then_a_hidden_pin():
    s = Screen()
    s.flow.start_keypad_login()
    assert s.typing == [True]
    assert s.message.startswith("键盘登录：输入工号 _，")
    s.press("KEY_KP2", "KEY_KP0", "KEY_KP0", "KEY_KP2")
    assert "输入工号 2002，" in s.message
    s.press("KEY_KPDOT")  # deletes one
    assert "输入工号 200，" in s.message
    s.press("KEY_2", "KEY_KPENTER")
    assert s.message == "工号 2002：输入密码 _，按回车登录"
    s.press("KEY_KP1", "KEY_KP2", "KEY_KP3", "KEY_KP4")
    assert s.message == "工号 2002：输入密码 ●●●●，按回车登录"
    s.press("KEY_BACKSPACE")
    assert s.message == "工号 2002：输入密码 ●●●，按回车登录"
    s.press("KEY_KP4", "KEY_KPENTER")
    assert s.logins == [("2002", "1234")]
    assert not any("1234" in text for _kind, text in s.shown)  # the PIN never shows
    assert s.flow.entry is None and s.typing == [True, False]


def test_enter_without_a_staff_number_stays_on_the_staff_number():
    s = Screen()
    s.flow.start_keypad_login()
    s.press("KEY_KPENTER")
    assert s.message.startswith("键盘登录：输入工号 _，") and s.logins == []


def test_another_key_cancels_the_keypad_login():
    s = Screen()
    s.flow.start_keypad_login()
    s.press("KEY_KP3", "KEY_KPPLUS")
    assert s.shown[-1] == ("info", "已取消键盘登录")
    assert s.flow.entry is None and s.logins == [] and s.typing == [True, False]


def test_the_keypad_login_times_out_after_30_s_without_a_key():
    s = Screen()
    s.flow.start_keypad_login()
    s.clock.advance(20)
    s.press("KEY_KP1")  # a key restarts the wait
    s.clock.advance(29)
    s.flow.tick()
    assert s.flow.entry is not None and "输入工号 1，" in s.message
    s.clock.advance(1)
    s.flow.tick()
    assert s.shown[-1] == ("info", "键盘登录已超时，请重新按登录键")
    assert s.flow.entry is None and s.flow.time_left() is None and s.logins == []


def test_error_texts_say_how_long_to_wait_and_tries_left():
    def refusal(code, message, **data):
        return {"code": code, "message_zh": message, "data": data}

    assert (
        error_text(
            refusal("recall_cooldown", "重呼过于频繁，请稍候再试", retry_after_s=9.2), LINK_DOWN
        )
        == "重呼过于频繁，请稍候再试（10 秒后可重呼）"
    )
    assert (
        error_text(refusal("clerk_locked", "该工号已暂时锁定", retry_after_s=890), LINK_DOWN)
        == "该工号已暂时锁定（约 15 分钟后可再试）"
    )
    assert (
        error_text(refusal("wrong_pin", "密码错误，请重新输入", attempts_left=4), LINK_DOWN)
        == "密码错误，请重新输入（再错 4 次将锁定）"
    )
    assert error_text(refusal("not_logged_in", "窗口未登录"), LINK_DOWN) == "窗口未登录"
    assert error_text(None, LINK_DOWN) == LINK_DOWN  # no answer from the engine
