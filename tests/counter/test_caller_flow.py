"""The caller's rules without Qt: buttons per window state, keypad login, error texts."""

from __future__ import annotations

from datetime import datetime

import pytest

from counter.caller_flow import (
    BUTTONS,
    CASE_NO_ERROR,
    CallerFlow,
    CaseInputError,
    allowed_buttons,
    clean_case_no,
    current_ticket,
    default_item,
    error_text,
    finish_args,
    finish_case_args,
    item_choices,
)
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


# ---------------------------------------------------------------------- the case (#14)

CATALOG = {
    "queues": [{"id": "A", "name": "户籍业务"}, {"id": "B", "name": "社保就业"}],
    "items": [
        {"id": "rs-card", "name": "社会保障卡申请", "queue": "B"},
        {"id": "hj-birth", "name": "婚生子女出生申报", "queue": "A"},
        {"id": "hj-proof", "name": "公安派出所出具证明", "queue": "A"},
    ],
    "windows": [{"id": "4", "name": "4号窗口"}],
}


def ticket(cases=None, **current):
    state = {"current": {"code": "A001", "status": "serving", "queue": "A"} | current}
    if cases is not None:
        state["cases"] = cases
    return current_ticket(state, CATALOG, datetime(2026, 11, 23, 9, 40))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("440305-2026-000123", "440305-2026-000123"),
        ("  AB12\t", "AB12"),
        ("\x02ZW-9\x03", "ZW-9"),  # a scanner's STX/ETX around it
        ("", None),
        ("   ", None),
        ("x" * 40, "x" * 40),
    ],
)
def test_a_case_number_is_cleaned_or_none(text, value):
    assert clean_case_no(text) == value


@pytest.mark.parametrize("text", ["x" * 41, "12/34", "办件1", "A B", "A_B", "１２３"])
def test_a_case_number_outside_the_pattern_is_refused_in_chinese(text):
    with pytest.raises(CaseInputError) as refused:
        clean_case_no(text)
    assert str(refused.value) == CASE_NO_ERROR


@pytest.mark.parametrize(
    ("current", "flag"),
    [
        ({"priority": "green", "priority_reason": "elderly"}, "绿色通道（老年人）"),
        ({"priority": "green", "priority_reason": "disabled"}, "绿色通道（残疾人）"),
        ({"priority": "green", "priority_reason": "pregnant"}, "绿色通道（孕妇）"),
        ({"priority": "green", "priority_reason": "military"}, "绿色通道（军人）"),
        ({"priority": "green", "priority_reason": None}, "绿色通道"),
        ({"priority": "appointment", "priority_reason": "appointment"}, "预约"),
        ({"priority": "normal", "appointment": True}, "预约"),
        ({"priority": "normal"}, ""),
    ],
)
def test_the_flag_says_green_channel_with_its_reason_or_appointment(current, flag):
    assert ticket(**current).flag == flag


def test_transfers_name_queues_and_windows_and_cases_add_their_items():
    t = ticket(
        item="hj-birth",
        transfers=[
            {"from_queue": "B", "to_queue": "A", "at": "2026-11-23T09:05:00+08:00"},
            {"from_queue": "A", "to_window": "4", "at": "2026-11-23T09:12:00+08:00"},
            {"from_queue": "Z", "to_window": "9", "at": "never"},
        ],
        waited_min=17,
    )
    assert t.transfers == (
        "09:05 从 B 社保就业 转至 A 户籍业务",
        "09:12 从 A 户籍业务 转至 4号窗口",
        "从 队列 Z 转至 9号窗口",
    )
    assert t.waited_text == "已等候 17 分钟"
    t = ticket(item="hj-birth", cases=[{"item": "rs-card", "case_no": "X1", "rated": 0}])
    assert t.item_names == ("婚生子女出生申报", "社会保障卡申请")
    assert t.cases[0].text == "✔  已办结  社会保障卡申请\n    办件编号 X1  待评价"


def test_the_case_item_defaults_to_the_tickets_or_its_queues_first():
    with_item = ticket(item="hj-proof")
    assert item_choices(CATALOG, with_item)[0] == ("hj-proof", "公安派出所出具证明")
    assert default_item(CATALOG, with_item) == "hj-proof"
    queue_ticket = ticket()  # issued for the queue A, no item
    assert default_item(CATALOG, queue_ticket) == "hj-birth"
    assert [i for i, _n in item_choices(CATALOG, queue_ticket)][-1] == "rs-card"


def test_finish_case_and_finish_arguments():
    t = ticket(item="hj-birth")
    assert finish_case_args(t, "hj-proof", " P-1 ", CATALOG) == {
        "item": "hj-proof",
        "case_no": "P-1",
    }
    assert finish_case_args(t, "hj-birth", "", CATALOG) == {"item": "hj-birth"}
    with pytest.raises(CaseInputError, match="不是本大厅的事项"):
        finish_case_args(t, "nope", "", CATALOG)
    with pytest.raises(CaseInputError, match="请先开始办理"):
        finish_case_args(ticket(item="hj-birth", status="called"), "hj-birth", "", CATALOG)
    assert finish_args(t, "hj-birth", "") == {}
    assert finish_args(t, "hj-birth", "N-2") == {"case_no": "N-2"}
    with pytest.raises(CaseInputError, match="所选事项不是本号的事项"):
        finish_args(t, "hj-proof", "N-2")
    done = ticket(item="hj-birth", cases=[{"item": "hj-birth"}])
    with pytest.raises(CaseInputError, match="尚未办结"):
        finish_args(done, "hj-birth", "N-3")
    assert finish_args(done, "hj-birth", "") == {}
